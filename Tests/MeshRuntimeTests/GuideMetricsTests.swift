import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import Testing

/// The guides' own queries against live sidecars: the metrics-demo's curl → httpbin (fsm-guides.txt
/// 6.2) through a client and a server sidecar, scraped from `/stats/prometheus` and labelled the way
/// the guide's Prometheus job labels them. Addresses: .1 and .2 of a test address block.
@Suite(.timeLimit(.minutes(1)))
struct GuideMetricsTests {
    static let cluster = "metrics-demo/httpbin|14001"
    static let fqdn = "httpbin.metrics-demo.svc.cluster.local"
    static let curlPod = "curl-54ccc6954c-q8s89"

    /// curl's config as the controller serves it: the metrics-demo cluster, and its workload stamped.
    static func curlConfig(serverIP: String) -> ProxyConfig {
        let hosts = ["httpbin.metrics-demo", "httpbin.metrics-demo:14001"].map { HostMapping(host: $0, service: fqdn) }
        var config = ProxyConfig(
            version: "curl-1", serviceIdentity: "curl.metrics-demo.cluster.local",
            outbound: OutboundConfig(
                trafficMatches: [OutboundTrafficMatch(
                    port: 14001, appProtocol: .http, destinationIPRanges: ["10.96.0.10/32"], httpHostPort2Service: hosts,
                    httpServiceRouteRules: [ServiceRouteRules(service: fqdn, rules: [RouteRule(targetClusters: [WeightedCluster(name: cluster, weight: 100)])])],
                    serviceIdentity: "curl.metrics-demo.cluster.local")],
                clustersConfigs: [ClusterConfig(name: cluster, endpoints: [ClusterEndpoint(address: "\(serverIP):\(MeshPair.appPort)")])]))
        config.spec.workload = ProxyWorkload(namespace: "metrics-demo", kind: "Deployment", name: "curl", pod: curlPod)
        return config
    }

    /// httpbin's: 4 requests a minute (its service's local rate limit), and a connection quota
    /// far above what the test opens (so the TCP rate-limit series exist).
    static func httpbinConfig(serverIP: String) -> ProxyConfig {
        var config = MeshPair.serverConfig(serverIP: serverIP, serviceLimit: RateLimitConfig(limit: 4, period: .seconds(60), capacity: 4))
        config.inbound.trafficMatches[0].tcpRateLimit = RateLimitConfig(limit: 100, period: .seconds(60), capacity: 100)
        return config
    }

    /// Three 200s, a 503, then (the server allows 4 per minute) a 429 from the server's sidecar.
    static func run(_ body: (MeshPair, _ client: [PrometheusSample], _ server: [PrometheusSample]) async throws -> Void) async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        try await MeshPair.run(block: block, client: curlConfig(serverIP: serverIP), server: httpbinConfig(serverIP: serverIP)) { mesh in
            var statuses: [Int] = []
            for path in ["/status/200", "/status/200", "/status/200", "/status/503", "/status/200"] {
                statuses.append(try await mesh.get(path, host: "httpbin.metrics-demo:14001").status)
            }
            #expect(statuses == [200, 200, 200, 503, 429])
            let client = try parsePrometheus(try await mesh.admin(mesh.clientIP, "/stats/prometheus").body)
            let server = try parsePrometheus(try await mesh.admin(mesh.serverIP, "/stats/prometheus").body)
            try await body(mesh, client, server)
        }
    }

    @Test func everyQueryTheGuidesQuoteFindsSeries() async throws {
        try await Self.run { _, client, server in
            let scraped = ScrapeTarget.kubernetesPod(namespace: "metrics-demo", pod: Self.curlPod, app: "curl", replicaSet: "curl-54ccc6954c").apply(client)
            for (line, query) in GuideQueries.queries {
                let selectors = try PromQLSelector.all(in: query)
                #expect(!selectors.isEmpty, "fsm-guides.txt:\(line): no selector in \(query)")
                for selector in selectors {
                    let found = try scraped.filter { try selector.matches($0) }
                    #expect(!found.isEmpty, "fsm-guides.txt:\(line): \(selector) found no series")
                }
            }
            for (line, name) in GuideQueries.sidecarFamilies {
                #expect(client.contains { $0.name == name }, "fsm-guides.txt:\(line): no \(name)")
            }
            // The successful requests the guide's first query counts, and the 5xx and 4xx beside them.
            let classes = client.filter { $0.name == "sidecar_cluster_upstream_rq_xx" && $0.labels["sidecar_cluster_name"] == Self.cluster }
            #expect(classes.first { $0.labels["sidecar_response_code_class"] == "2" }?.value == 3)
            #expect(classes.first { $0.labels["sidecar_response_code_class"] == "5" }?.value == 1)
            #expect(classes.first { $0.labels["sidecar_response_code_class"] == "4" }?.value == 1)
            _ = server
        }
    }

    @Test func sidecarExportsFSMsNamesAndLabels() async throws {
        try await Self.run { _, client, server in
            let total = try #require(client.first { $0.name == "sidecar_cluster_upstream_rq_total" && $0.labels["sidecar_cluster_name"] == Self.cluster })
            #expect(total.value == 5)
            #expect(total.labels["source_namespace"] == "metrics-demo")
            #expect(total.labels["source_workload_kind"] == "Deployment")
            #expect(total.labels["source_workload_name"] == "curl")
            #expect(total.labels["source_workload_pod"] == Self.curlPod)
            #expect(client.first { $0.name == "sidecar_server_live" }?.value == 1)
            for name in ["sidecar_cluster_upstream_cx_tx_bytes_total", "sidecar_cluster_upstream_cx_rx_bytes_total"] {
                let bytes = client.first { $0.name == name && $0.labels["sidecar_cluster_name"] == Self.cluster }?.value ?? 0
                #expect(bytes > 0, "\(name)")
            }
            #expect(client.contains { $0.name == "sidecar_cluster_upstream_rq_timeout" && $0.labels["sidecar_cluster_name"] == Self.cluster })
            #expect(client.contains { $0.name == "sidecar_cluster_upstream_cx_connect_timeout" && $0.labels["sidecar_cluster_name"] == Self.cluster })
            // The Envoy per-class names are gone in favour of the class label.
            #expect(!client.contains { $0.name.hasPrefix("sidecar_cluster_upstream_rq_2xx") })
            // Rate-limit outcomes are a label, not part of the name.
            #expect(server.first { $0.name == "sidecar_http_local_rate_limit_rate_limited" && $0.labels["sidecar_rate_limit_scope"] == "service" }?.value == 1)
            #expect(!server.contains { $0.name.contains("throttle") })
            let tcp = try #require(server.first { $0.name == "sidecar_local_rate_limit_rate_limited" })
            #expect(tcp.labels["sidecar_local_rate_limit_prefix"]?.hasSuffix("8080_http") == true)
            #expect(tcp.value == 0)
        }
    }

    /// The reader the checks above rely on finds what they must and misses what they must.
    @Test func theSelectorReaderReadsPromQL() throws {
        let guide = try PromQLSelector.all(in: GuideQueries.queries[1].query)
        #expect(guide.map(\.name) == ["sidecar_cluster_upstream_rq_xx"])
        #expect(guide.first?.matchers.map(\.label) == ["exported_source_workload_name", "sidecar_cluster_name"])
        let nested = try PromQLSelector.all(in: #"histogram_quantile(0.99, sum(rate(fsm_request_duration_ms_bucket{source_name=~"$source"}[1m])) by (le, destination_name)) / on (x) sum(sidecar_server_live)"#)
        #expect(nested.map(\.name) == ["fsm_request_duration_ms_bucket", "sidecar_server_live"])
        let sample = PrometheusSample(name: "m", labels: ["a": "curl", "b": "x|1"], value: 1)
        #expect(try PromQLSelector.all(in: #"m{a="curl", b!="y"}"#)[0].matches(sample))
        #expect(try PromQLSelector.all(in: #"m{a=~"cu.*", c=""}"#)[0].matches(sample))
        #expect(try !PromQLSelector.all(in: #"m{a=~"cu"}"#)[0].matches(sample))
        #expect(try !PromQLSelector.all(in: #"m{a!~"c.*"}"#)[0].matches(sample))
        #expect(try !PromQLSelector.all(in: #"n{a="curl"}"#)[0].matches(sample))
        #expect(throws: PromQLSelector.ParseError.self) { try PromQLSelector.all(in: #"m{a="curl"#) }
    }

    static let dashboard = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/grafana/fsm-service-to-service.json")

    /// Every expression of the shipped dashboard (panels and variables) names metrics a live
    /// sidecar exports.
    @Test func theDashboardUsesExportedMetrics() async throws {
        let json = try JSONValue(parsing: String(contentsOf: Self.dashboard, encoding: .utf8))
        #expect(json["uid"] == .string("FSMs2sMetrics"))
        var expressions: [String] = []
        Self.collect(json, into: &expressions)
        #expect(expressions.count >= 10)
        try await Self.run { _, client, server in
            let exported = Set((client + server).map(\.name))
            for expression in expressions {
                let names = try PromQLSelector.all(in: Self.query(of: expression)).map(\.name)
                #expect(!names.isEmpty, "no metric in \(expression)")
                for name in names { #expect(exported.contains(name), "\(name) (in \(expression)) is not exported") }
            }
        }
    }

    /// `expr` of every panel target and the query of every variable.
    static func collect(_ value: JSONValue, into expressions: inout [String]) {
        switch value {
        case .object(let pairs):
            for (key, child) in pairs {
                if key == "expr" || key == "definition", case .string(let text) = child { expressions.append(text) } else { collect(child, into: &expressions) }
            }
        case .array(let items):
            for item in items { collect(item, into: &expressions) }
        default:
            break
        }
    }

    /// The PromQL of a panel expression, or of a variable's Grafana `label_values(query, label)`.
    static func query(of expression: String) -> String {
        guard expression.hasPrefix("label_values("), let comma = expression.lastIndex(of: ",") else { return expression }
        return String(expression[expression.index(expression.startIndex, offsetBy: "label_values(".count)..<comma])
    }
}
