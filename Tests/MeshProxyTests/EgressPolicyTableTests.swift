import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The Egress policy API at the sidecar (`EgressPolicyTable`, `Sidecar+EgressPolicy`; demos.md
/// 6.3): HTTP by Host and HTTPRouteGroup routes, HTTPS by server name, TCP by range and port.
@Suite("Egress policy")
struct EgressPolicyTableTests {
    static let httpbinOrg = SocketAddress(ip: "203.0.113.10", port: 80)
    static let httpbinOrgTLS = SocketAddress(ip: "203.0.113.10", port: 443)

    static func config(_ rules: [EgressRule], egress: Bool = false) -> ProxyConfig {
        var config = Fixture.outbound()
        config.spec.enableEgress = egress
        config.spec.egressPolicy = EgressPolicySpec(rules: rules)
        return config
    }

    static let http80 = EgressRule(policy: "curl/httpbin-80", port: 80, protocol: .http, hosts: ["httpbin.org"])

    @Test func anHTTPPolicyAllowsItsHostAndPortOnly() throws {
        let table = try EgressPolicyTable(compiling: EgressPolicySpec(rules: [Self.http80]))
        #expect(table.http(destination: Self.httpbinOrg, head: Fixture.get("/get", host: "httpbin.org")) == .allowed(0))
        #expect(table.http(destination: Self.httpbinOrg, head: Fixture.get("/get", host: "HTTPBIN.org:80")) == .allowed(0))
        #expect(table.http(destination: Self.httpbinOrg, head: Fixture.get("/get", host: "flomesh.io")) == .unmatched)
        #expect(table.http(destination: SocketAddress(ip: "203.0.113.10", port: 8080), head: Fixture.get("/get", host: "httpbin.org")) == .unmatched)
    }

    @Test func routeGroupMatchesNarrowTheRequestsAndTheRestIsForbidden() throws {
        var rule = Self.http80
        rule.routes = [EgressRoute(pathRegex: "/get")]
        let table = try EgressPolicyTable(compiling: EgressPolicySpec(rules: [rule]))
        #expect(table.http(destination: Self.httpbinOrg, head: Fixture.get("/get?x=1", host: "httpbin.org")) == .allowed(0))
        #expect(table.http(destination: Self.httpbinOrg, head: Fixture.get("/status/200", host: "httpbin.org")) == .forbidden)
        rule.routes! += [EgressRoute(pathRegex: "/status.*", methods: ["GET"])]
        let wider = try EgressPolicyTable(compiling: EgressPolicySpec(rules: [rule]))
        #expect(wider.http(destination: Self.httpbinOrg, head: Fixture.get("/status/200", host: "httpbin.org")) == .allowed(0))
        #expect(wider.http(destination: Self.httpbinOrg, head: Fixture.get("/status/200", host: "httpbin.org", method: "POST")) == .forbidden)
    }

    @Test func tlsGoesByServerNameAndTCPByRangeAndPort() throws {
        let table = try EgressPolicyTable(compiling: EgressPolicySpec(rules: [
            EgressRule(policy: "curl/httpbin-443", port: 443, protocol: .https, hosts: ["httpbin.org"]),
            EgressRule(policy: "curl/db", port: 5432, protocol: .tcp, ipRanges: ["10.0.0.0/24"]),
            EgressRule(policy: "curl/tcp-8443", port: 8443, protocol: .tcp),
        ]))
        #expect(table.connection(destination: Self.httpbinOrgTLS, serverName: "httpbin.org") == 0)
        #expect(table.connection(destination: Self.httpbinOrgTLS, serverName: "flomesh.io") == nil)
        #expect(table.connection(destination: Self.httpbinOrgTLS, serverName: nil) == nil)
        #expect(table.connection(destination: SocketAddress(ip: "10.0.0.7", port: 5432), serverName: nil) == 1)
        #expect(table.connection(destination: SocketAddress(ip: "10.0.1.7", port: 5432), serverName: nil) == nil)
        #expect(table.connection(destination: SocketAddress(ip: "198.51.100.9", port: 8443), serverName: nil) == 2)
        #expect(table.carriesHTTP(to: SocketAddress(ip: "198.51.100.9", port: 8443)) == false)
        #expect(table.carriesHTTP(to: SocketAddress(ip: "198.51.100.9", port: 9999)) == nil)
    }

    @Test func aBadRangeOrPatternRejectsTheConfigAndKeepsTheLastGood() {
        var sidecar = Sidecar(config: Self.config([Self.http80]))
        var bad = Self.config([EgressRule(policy: "curl/x", port: 443, protocol: .tcp, ipRanges: ["10.0.0.0/99"])])
        bad.version = "bad"
        guard case .rejected(let reason) = sidecar.apply(bad) else { Issue.record("a bad range was applied"); return }
        #expect(reason.contains("curl/x"))
        var random = SeededGenerator(seed: 1)
        let allowed = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/get", host: "httpbin.org"), destination: Self.httpbinOrg, now: .zero, random: &random)
        #expect(allowed.sends.map(\.cluster) == ["egress|203.0.113.10:80"])
    }

    @Test func theSidecarSendsAllowedRequestsOutAndAnswersTheOthers() {
        var rule = Self.http80
        rule.routes = [EgressRoute(pathRegex: "/get")]
        var sidecar = Sidecar(config: Self.config([rule]))
        var random = SeededGenerator(seed: 1)
        let allowed = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/get", host: "httpbin.org"), destination: Self.httpbinOrg, now: .zero, random: &random)
        #expect(allowed.sends.map(\.endpoint) == [Self.httpbinOrg])
        let forbidden = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get("/status/200", host: "httpbin.org"), destination: Self.httpbinOrg, now: .zero, random: &random)
        #expect(forbidden.responses.map(\.head) == [HTTPResponseHead(status: 403, headers: [HTTPHeader(name: "content-length", value: "13")], body: "Access denied")])
        // Another host, egress off: no route (the demo's exit 7).
        let other = sidecar.outboundRequest(ExchangeID(3), head: Fixture.get("/", host: "flomesh.io"), destination: SocketAddress(ip: "203.0.113.20", port: 80), now: .zero, random: &random)
        #expect(other.responses.map(\.local) == [.noRoute])
        #expect(sidecar.stats.value("outbound.egress_policy_allowed") == 1)
        #expect(sidecar.stats.value("outbound.egress_policy_denied") == 1)
        #expect(sidecar.stats.value("outbound.egress_passthrough") == 0)
    }

    @Test func tcpConnectionsFollowThePolicyAndUpstreamSettingsLimitThem() {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        let rule = EgressRule(policy: "curl/tcp-443", port: 443, protocol: .tcp, connectionSettings: settings)
        var sidecar = Sidecar(config: Self.config([rule]))
        var random = SeededGenerator(seed: 1)
        let first = sidecar.outboundConnection(ConnectionID(1), destination: Self.httpbinOrgTLS, now: .zero, random: &random)
        #expect(first == .connect(cluster: "egress|203.0.113.10:443", endpoint: Self.httpbinOrgTLS))
        #expect(sidecar.outboundConnection(ConnectionID(2), destination: Self.httpbinOrgTLS, now: .zero, random: &random) == .reject(.connectionOverflow))
        #expect(sidecar.outboundConnection(ConnectionID(3), destination: SocketAddress(ip: "203.0.113.10", port: 22), now: .zero, random: &random) == .reject(.noRoute))
        #expect(sidecar.outboundCarriesHTTP(to: Self.httpbinOrgTLS) == false)
    }

    @Test func passthroughCoversRawTCPWhenNoPolicyNamesIt() {
        var sidecar = Sidecar(config: Self.config([], egress: true))
        var random = SeededGenerator(seed: 1)
        let decision = sidecar.outboundConnection(ConnectionID(1), destination: SocketAddress(ip: "203.0.113.30", port: 5432), now: .zero, random: &random)
        #expect(decision == .connect(cluster: "egress|203.0.113.30:5432", endpoint: SocketAddress(ip: "203.0.113.30", port: 5432)))
        #expect(sidecar.stats.value("outbound.egress_passthrough") == 1)
        var off = Sidecar(config: Self.config([], egress: false))
        #expect(off.outboundConnection(ConnectionID(1), destination: SocketAddress(ip: "203.0.113.30", port: 5432), now: .zero, random: &random) == .reject(.noRoute))
    }
}
