import MeshModel
import Testing

@Suite struct JSONParsingTests {
    @Test func parsesEveryKindAndKeepsKeyOrder() throws {
        let text = #"{"b":1,"a":[true,false,null,-2.5,"x\u00e9\n"],"c":{},"d":[],"e":1e3,"f":9223372036854775807}"#
        let value = try JSONValue(parsing: text)
        #expect(value == .object([
            ("b", .int(1)),
            ("a", .array([.bool(true), .bool(false), .null, .double(-2.5), .string("xé\n")])),
            ("c", .object([])), ("d", .array([])), ("e", .double(1000)), ("f", .int(Int64.max)),
        ]))
    }

    @Test func writerOutputParsesBack() throws {
        let value: JSONValue = .object([("s", .string("q\"\\\t\u{01}😀")), ("n", .int(-7)), ("d", .double(0.125)), ("nested", .array([.object([("k", .null)])]))])
        #expect(try JSONValue(parsing: value.rendered()) == value)
        #expect(try JSONValue(parsing: value.rendered(pretty: true)) == value)
    }

    @Test func surrogatePairs() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"", "{} x", "\"\\ud800\"", "[1 2]", "\"a\u{01}\"", "1e999"])
    func rejectsMalformed(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
    }
}

@Suite struct ProxyConfigDecodingTests {
    /// Every field of the config shape set to something non-default, in the canonical order the
    /// controller uses (matches by port, maps by sorted key), so decoding gives back an equal value.
    static var rich: ProxyConfig {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 3
        settings.tcp.connectTimeout = .milliseconds(1500)
        settings.http.maxRequests = 10
        settings.http.maxRequestsPerConnection = 4
        settings.http.maxPendingRequests = 2
        settings.http.maxRetries = 1
        var breaking = CircuitBreaking()
        breaking.minRequestAmount = 5
        breaking.errorRatioThreshold = 0.5
        breaking.slowAmountThreshold = 3
        breaking.degradedStatusCode = 503
        breaking.degradedResponseContent = "down"
        settings.http.circuitBreaking = breaking
        let limit = RateLimitConfig(limit: 3, period: .seconds(60), capacity: 5, responseStatusCode: 429,
                                    responseHeadersToAdd: [HeaderValue(name: "hello", value: "world")])
        return ProxyConfig(
            version: "v42",
            serviceIdentity: "bookbuyer.bookbuyer.cluster.local",
            spec: ProxySpec(sidecarLogLevel: "debug", enableEgress: true, enablePermissiveTrafficPolicyMode: true, enableRetryPolicy: true),
            inbound: InboundConfig(
                trafficMatches: [
                    InboundTrafficMatch(
                        port: 8080, appProtocol: .http, sourceIPRanges: ["10.0.0.0/8"],
                        httpHostPort2Service: [HostMapping(host: "bookstore", service: "bookstore.bookstore.svc.cluster.local")],
                        httpServiceRouteRules: [ServiceRouteRules(service: "bookstore.bookstore.svc.cluster.local", rules: [
                            RouteRule(pathRegex: "/books-bought", headers: [HeaderMatch(name: "user-agent", valueRegex: ".*curl.*")], methods: ["GET"],
                                      targetClusters: [WeightedCluster(name: "bookstore/bookstore|8080|local", weight: 100)],
                                      allowedServices: ["bookbuyer.bookbuyer.cluster.local"], rateLimit: limit),
                            RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: "bookstore/bookstore|8080|local", weight: 100)]),
                        ], rateLimit: limit)]
                    ),
                    InboundTrafficMatch(port: 14001, appProtocol: .tcp, targetClusters: [WeightedCluster(name: "bookstore/bookstore|14001|local", weight: 100)],
                                        allowedEndpoints: ["a.b.cluster.local"], tcpRateLimit: RateLimitConfig(limit: 1, period: .seconds(1), capacity: 1)),
                ],
                clustersConfigs: [
                    ClusterConfig(name: "bookstore/bookstore|14001|local", endpoints: [ClusterEndpoint(address: "127.0.0.1:14001")]),
                    ClusterConfig(name: "bookstore/bookstore|8080|local", endpoints: [ClusterEndpoint(address: "127.0.0.1:8080", weight: 100)]),
                ]
            ),
            outbound: OutboundConfig(
                trafficMatches: [
                    OutboundTrafficMatch(port: 8080, appProtocol: .http, destinationIPRanges: ["10.96.0.12/32"],
                                         httpHostPort2Service: [HostMapping(host: "bookstore.bookstore", service: "bookstore.bookstore.svc.cluster.local"),
                                                                HostMapping(host: "bookstore.bookstore:8080", service: "bookstore.bookstore.svc.cluster.local")],
                                         httpServiceRouteRules: [ServiceRouteRules(service: "bookstore.bookstore.svc.cluster.local", rules: [
                                             RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: "bookstore/bookstore-v1|8080", weight: 50),
                                                                                         WeightedCluster(name: "bookstore/bookstore-v2|8080", weight: 50)]),
                                         ])],
                                         serviceIdentity: "bookbuyer.bookbuyer.cluster.local"),
                    OutboundTrafficMatch(port: 8080, appProtocol: .http, destinationIPRanges: ["10.96.0.13/32"], serviceIdentity: "bookbuyer.bookbuyer.cluster.local"),
                    OutboundTrafficMatch(port: 14001, appProtocol: .tcpServerFirst, destinationIPRanges: ["10.96.0.14/32"],
                                         targetClusters: [WeightedCluster(name: "db/mysql|14001", weight: 100)], allowedEgressTraffic: true, serviceIdentity: "x"),
                ],
                clustersConfigs: [
                    ClusterConfig(name: "bookstore/bookstore-v1|8080", endpoints: [ClusterEndpoint(address: "10.244.0.5:8080", weight: 30), ClusterEndpoint(address: "10.244.0.6:8080")],
                                  connectionSettings: settings,
                                  retryPolicy: RetryPolicy(retryOn: "5xx,409", perTryTimeout: .milliseconds(250), numRetries: 3, retryBackoffBaseInterval: .milliseconds(10))),
                    ClusterConfig(name: "bookstore/bookstore-v2|8080", endpoints: [ClusterEndpoint(address: "10.244.0.7:8080")], retryPolicy: RetryPolicy()),
                    ClusterConfig(name: "db/mysql|14001"),
                ]
            )
        )
    }

    @Test func roundTripGivesEqualConfig() throws {
        let config = Self.rich
        let decoded = try ProxyConfig(jsonText: config.renderedJSON(pretty: true))
        #expect(decoded == config)
        #expect(decoded.renderedJSON() == config.renderedJSON())
    }

    /// Found by fuzz-config-json (minimized): a map whose keys came out of order read back in that
    /// order, and the config then changed through its own JSON (the writer prints maps sorted).
    @Test func mapsReadInKeyOrderWhateverOrderTheyCameIn() throws {
        let text = #"{"Spec":{"ServiceIdentity":""},"Inbound":{"TrafficMatches":{"":{"Port":8,"Protocol":"http","HttpHostPort2Service":{"ht":"p","":""}}}}}"#
        let config = try ProxyConfig(jsonText: text)
        #expect(config.inbound.trafficMatches.first?.httpHostPort2Service.map(\.host) == ["", "ht"])
        #expect(try ProxyConfig(jsonText: config.renderedJSON()) == config)
        let weights = try ProxyConfig(jsonText: #"{"Spec":{"ServiceIdentity":"a"},"Outbound":{"TrafficMatches":{"80":[{"Port":80,"Protocol":"tcp","TargetClusters":{"b|80":1,"a|80":3}}]}}}"#)
        #expect(weights.outbound.trafficMatches.first?.targetClusters == [WeightedCluster(name: "a|80", weight: 3), WeightedCluster(name: "b|80", weight: 1)])
    }

    /// Found by fuzz-config-json (minimized): a group of outbound matches holding two ports, out of
    /// order, was put in place by its first port only and read back in another order.
    @Test func outboundMatchesAreOrderedByTheirOwnPort() throws {
        let text = #"{"Spec":{"ServiceIdentity":""},"Outbound":{"TrafficMatches":{"":[{"Port":4,"Protocol":"http"},{"Port":1,"Protocol":"http"}]}}}"#
        let config = try ProxyConfig(jsonText: text)
        #expect(config.outbound.trafficMatches.map(\.port) == [1, 4])
        #expect(try ProxyConfig(jsonText: config.renderedJSON()) == config)
    }

    @Test func emptyConfigRoundTrips() throws {
        let config = ProxyConfig(serviceIdentity: "a.b.cluster.local")
        #expect(try ProxyConfig(jsonText: config.renderedJSON()) == config)
    }

    @Test func badShapesNameThePath() throws {
        var broken = Self.rich.renderedJSON()
        broken = broken.replacing(#""Protocol":"tcp-server-first""#, with: #""Protocol":"smtp""#)
        do {
            _ = try ProxyConfig(jsonText: broken)
            Issue.record("a bad protocol was accepted")
        } catch {
            #expect(error.path == "Outbound.TrafficMatches.14001[0].Protocol")
        }
        #expect(throws: ProxyConfigDecodingError.self) { try ProxyConfig(jsonText: "{}") }
        #expect(throws: ProxyConfigDecodingError.self) { try ProxyConfig(jsonText: "not json") }
        #expect(throws: ProxyConfigDecodingError.self) { try ProxyConfig(jsonText: #"{"Spec":{"ServiceIdentity":7}}"#) }
    }
}
