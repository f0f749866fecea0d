import MeshControl
import MeshModel
import MeshTesting
import Testing

/// UpstreamTrafficSetting (circuit breaking, rate limits) and Retry placement: demos.md 3 and 4.
@Suite struct PolicyTests {
    static func fortio(_ extra: [ResourceChange], meshConfig: MeshConfig = ClusterFixtures.permissive()) -> MeshController {
        var controller = MeshController(meshConfig: meshConfig)
        _ = controller.apply([
            ClusterFixtures.namespace("demo"),
            .upsert(.service(Service(metadata: ObjectMeta(name: "fortio", namespace: "demo"), ports: [
                ServicePort(name: "http-8080", port: 8080), ServicePort(name: "tcp-8078", port: 8078, appProtocol: .tcp),
            ], selector: ["app": "fortio"], clusterIP: "10.96.83.254"))),
            ClusterFixtures.pod("fortio-1", "demo", serviceAccount: "default", labels: ["app": "fortio"], ip: "10.244.1.10"),
            ClusterFixtures.pod("fortio-client-1", "demo", serviceAccount: "client", labels: ["app": "fortio-client"], ip: "10.244.1.19"),
        ] + extra)
        return controller
    }

    static func uts(_ name: String, host: String = "fortio.demo.svc.cluster.local", connection: ConnectionSettings? = nil,
                    rateLimit: LocalRateLimit? = nil, routes: [HTTPRouteRateLimit] = []) -> ResourceChange {
        .upsert(.upstreamTrafficSetting(UpstreamTrafficSetting(metadata: ObjectMeta(name: name, namespace: "demo"), host: host,
                                                               connectionSettings: connection, rateLimit: rateLimit, httpRoutes: routes)))
    }

    @Test func connectionSettingsGoOnTheClientsCluster() throws {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        settings.http.maxPendingRequests = 1
        let controller = Self.fortio([Self.uts("cb", host: "fortio", connection: settings)])
        let client = try #require(controller.config(for: PodKey("demo", "fortio-client-1")))
        #expect(client.cluster("demo/fortio|8080")?.connectionSettings == settings)
        #expect(client.cluster("demo/fortio|8078")?.connectionSettings == settings)
        let server = try #require(controller.config(for: PodKey("demo", "fortio-1")))
        #expect(server.inbound.clustersConfigs.allSatisfy { $0.connectionSettings == nil })
    }

    @Test func rateLimitsGoOnTheServersInbound() throws {
        let http = HTTPLocalRateLimit(requests: 3, unit: .minute, responseHeadersToAdd: [HeaderValue(name: "x-limited", value: "yes")])
        let controller = Self.fortio([Self.uts("limits", rateLimit: LocalRateLimit(tcp: TCPLocalRateLimit(connections: 1, unit: .minute), http: http),
                                               routes: [HTTPRouteRateLimit(path: ".*", rateLimit: HTTPLocalRateLimit(requests: 5, unit: .second, burst: 10)),
                                                        HTTPRouteRateLimit(path: "/never-allowed", rateLimit: HTTPLocalRateLimit(requests: 1, unit: .second))])])
        let server = try #require(controller.config(for: PodKey("demo", "fortio-1")))
        let tcpMatch = try #require(server.inbound.trafficMatches.first { $0.port == 8078 })
        #expect(tcpMatch.tcpRateLimit == RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1))
        let httpMatch = try #require(server.inbound.trafficMatches.first { $0.port == 8080 })
        #expect(httpMatch.tcpRateLimit == RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1))
        let rules = try #require(httpMatch.httpServiceRouteRules.first)
        #expect(rules.rateLimit == RateLimitConfig(limit: 3, period: .seconds(60), capacity: 3, responseHeadersToAdd: [HeaderValue(name: "x-limited", value: "yes")]))
        #expect(rules.rules.map(\.pathRegex) == [".*"])
        #expect(rules.rules[0].rateLimit == RateLimitConfig(limit: 5, period: .seconds(1), capacity: 10))
        // Clients get no rate limit.
        let client = try #require(controller.config(for: PodKey("demo", "fortio-client-1")))
        #expect(client.inbound.trafficMatches.isEmpty)
        let json = server.renderedJSON(pretty: false)
        #expect(json.contains("\"RateLimit\":{\"Limit\":1,\"StatTimeWindow\":60,\"Burst\":1"))
        #expect(json.contains("\"HttpRateLimits\":{\"fortio.demo.svc.cluster.local\":{\"Limit\":3"))
    }

    @Test func laterSettingForTheSameHostWinsPerField() throws {
        // demos.md 4.1: `tcp-echo-limit` (with burst) is applied after `tcp-rate-limit`.
        var controller = Self.fortio([Self.uts("tcp-rate-limit", rateLimit: LocalRateLimit(tcp: TCPLocalRateLimit(connections: 1, unit: .minute)))])
        _ = controller.apply([Self.uts("tcp-echo-limit", rateLimit: LocalRateLimit(tcp: TCPLocalRateLimit(connections: 1, unit: .minute, burst: 10)))])
        let server = try #require(controller.config(for: PodKey("demo", "fortio-1")))
        #expect(server.inbound.trafficMatches.first { $0.port == 8078 }?.tcpRateLimit?.capacity == 10)
        _ = controller.apply([.delete(ResourceKey(kind: .upstreamTrafficSetting, namespace: "demo", name: "tcp-echo-limit"))])
        let after = try #require(controller.config(for: PodKey("demo", "fortio-1")))
        #expect(after.inbound.trafficMatches.first { $0.port == 8078 }?.tcpRateLimit?.capacity == 1)
    }

    static let retry = ResourceChange.upsert(.retry(Retry(
        metadata: ObjectMeta(name: "retry", namespace: "demo"), source: ClusterFixtures.sa("client", "demo"),
        destinations: [IdentityReference(kind: "Service", name: "fortio", namespace: "demo")],
        retryPolicy: RetryPolicy(retryOn: "5xx", perTryTimeout: .seconds(1), numRetries: 5, retryBackoffBaseInterval: .seconds(1))
    )))

    @Test func retryGoesOnTheSourcesClustersOnlyWhenTheFlagIsOn() throws {
        let on = Self.fortio([Self.retry], meshConfig: ClusterFixtures.permissive(retries: true))
        let client = try #require(on.config(for: PodKey("demo", "fortio-client-1")))
        #expect(client.cluster("demo/fortio|8080")?.retryPolicy?.numRetries == 5)
        // Other identities do not retry.
        let server = try #require(on.config(for: PodKey("demo", "fortio-1")))
        #expect(server.cluster("demo/fortio|8080")?.retryPolicy == nil)
        #expect(client.renderedJSON().contains("\"RetryPolicy\":{\"RetryOn\":\"5xx\",\"PerTryTimeout\":1,\"NumRetries\":5,\"RetryBackoffBaseInterval\":1}"))

        var off = Self.fortio([Self.retry], meshConfig: ClusterFixtures.permissive(retries: false))
        #expect(off.config(for: PodKey("demo", "fortio-client-1"))?.cluster("demo/fortio|8080")?.retryPolicy == nil)
        let update = off.apply([.upsert(.meshConfig(ClusterFixtures.permissive(retries: true)))])
        #expect(update.changed.contains(PodKey("demo", "fortio-client-1")))
        #expect(off.config(for: PodKey("demo", "fortio-client-1"))?.cluster("demo/fortio|8080")?.retryPolicy?.numRetries == 5)
    }
}
