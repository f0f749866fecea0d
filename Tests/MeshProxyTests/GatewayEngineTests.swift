import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The gateway entry points of the engine, driven as a shell drives them: a `GatewayConfig`
/// applied, client requests and connections in, actions out, upstream answers back through the
/// sidecar's own event functions.
@Suite("Gateway engine")
struct GatewayEngineTests {
    static let client = SocketAddress(ip: "203.0.113.7", port: 40000)
    static let httpbinEndpoints = ["10.1.0.5:80", "10.1.0.6:80"]

    static func httpbin(_ policies: GatewayConfig.BackendPolicies = .init()) -> GatewayConfig.Backend {
        GatewayConfig.Backend(service: "httpbin/httpbin", port: 8080, endpoints: httpbinEndpoints, policies: policies)
    }

    static func rule(_ match: GatewayHTTPRouteMatch = .init(), filters: [GatewayConfig.Filter] = [], backends: [GatewayConfig.Backend] = [httpbin()]) -> GatewayConfig.Rule {
        GatewayConfig.Rule(route: "HTTPRoute httpbin/http-route-foo", ruleIndex: 0, match: match, filters: filters, backends: backends)
    }

    static func config(_ hosts: [GatewayConfig.VirtualHost], extra: [GatewayConfig.Listener] = []) -> GatewayConfig {
        GatewayConfig(gateway: "httpbin/simple-fsm-gateway", version: "1",
                      listeners: [GatewayConfig.Listener(name: "http", port: 8000, protocol: .http, virtualHosts: hosts)] + extra)
    }

    struct Engine {
        var sidecar = Sidecar()
        var random = SeededGenerator(seed: 1)
        var next: UInt64 = 1

        init(_ config: GatewayConfig) {
            #expect(sidecar.applyGateway(config) == .applied(version: config.version))
        }

        mutating func request(_ path: String, host: String = "foo.example.com", method: String = "GET", headers: [HTTPHeader] = [], port: Int = 8000) -> (ExchangeID, [OutboundHTTPAction]) {
            let id = ExchangeID(next)
            next += 1
            let head = HTTPRequestHead(method: method, path: path, authority: host, headers: headers)
            return (id, sidecar.gatewayRequest(id, head: head, listenerPort: port, source: GatewayEngineTests.client, sni: nil, now: .zero, random: &random))
        }

        mutating func answer(_ id: ExchangeID, _ status: Int, headers: [HTTPHeader] = [], attempt: Int = 1) -> [OutboundHTTPAction] {
            sidecar.upstreamResponse(id, attempt: attempt, head: HTTPResponseHead(status: status, headers: headers), now: .zero, random: &random)
        }
    }

    static func sent(_ actions: [OutboundHTTPAction]) -> (cluster: String, endpoint: SocketAddress)? {
        for case let .send(_, _, cluster, endpoint, _, _, _) in actions { return (cluster, endpoint) }
        return nil
    }

    static func rewritten(_ actions: [OutboundHTTPAction]) -> HTTPRequestHead? {
        for case let .rewriteRequest(_, head) in actions { return head }
        return nil
    }

    static func response(_ actions: [OutboundHTTPAction]) -> (HTTPResponseHead, LocalReason?)? {
        for case let .respond(_, head, local, _) in actions { return (head, local) }
        return nil
    }

    @Test func anUnknownHostIsA404WithNoBody() {
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "foo.example.com", rules: [GatewayEngineTests.rule()])]))
        let (_, actions) = engine.request("/headers", host: "10.0.2.4:8000")
        let answer = GatewayEngineTests.response(actions)
        #expect(answer?.0.status == 404 && answer?.0.header("content-length") == "0" && answer?.1 == .noRoute)
        #expect(engine.sidecar.stats.value("gateway.no_route") == 1)
        #expect(GatewayEngineTests.sent(actions) == nil)
    }

    @Test func aRoutedRequestIsRewrittenForwardedAndAnsweredByTheUpstream() {
        let rewrite = GatewayConfig.Filter.urlRewrite(GatewayURLRewrite(path: .replaceFullPath("/headers")))
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "foo.example.com", rules: [
            GatewayEngineTests.rule(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .pathPrefix, value: "/get")), filters: [rewrite]),
            GatewayEngineTests.rule(),
        ])]))
        let (id, actions) = engine.request("/get?a=1", host: "foo.example.com:8000")
        let head = GatewayEngineTests.rewritten(actions)
        #expect(head?.path == "/headers?a=1")
        #expect(head?.authority == "foo.example.com:8000", "the client's Host goes upstream (G1)")
        #expect(head?.header("x-forwarded-for") == "203.0.113.7")
        #expect(GatewayEngineTests.sent(actions)?.cluster == "httpbin/httpbin:8080")
        let answer = GatewayEngineTests.response(engine.answer(id, 200))
        #expect(answer?.0.status == 200 && answer?.1 == nil)
        let (_, plain) = engine.request("/status/204", headers: [HTTPHeader(name: "X-Forwarded-For", value: "1.2.3.4")])
        #expect(GatewayEngineTests.rewritten(plain)?.path == "/status/204")
        #expect(GatewayEngineTests.rewritten(plain)?.header("x-forwarded-for") == "1.2.3.4, 203.0.113.7")
    }

    @Test func aRedirectAnswersWithLocationAndSendsNothing() {
        let redirect = GatewayConfig.Filter.requestRedirect(GatewayRequestRedirect(hostname: "bar.example.com", port: 8000, statusCode: 301))
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "foo.example.com", rules: [GatewayEngineTests.rule(filters: [redirect])])]))
        let (_, actions) = engine.request("/get")
        let answer = GatewayEngineTests.response(actions)
        #expect(answer?.0.status == 301 && answer?.0.header("location") == "http://bar.example.com:8000/get" && answer?.1 == .redirect)
        #expect(GatewayEngineTests.sent(actions) == nil)
    }

    @Test func responseHeaderModifiersChangeTheUpstreamsHead() {
        let modifier = GatewayConfig.Filter.responseHeaderModifier(GatewayHeaderModifier(set: [GatewayHeader(name: "server", value: "fsm/gateway")], add: [GatewayHeader(name: "header-2-add", value: "foo")]))
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(filters: [modifier])])]))
        let (id, _) = engine.request("/headers")
        let answer = GatewayEngineTests.response(engine.answer(id, 200, headers: [HTTPHeader(name: "Server", value: "gunicorn/19.9.0")]))
        #expect(answer?.0.header("server") == "fsm/gateway" && answer?.0.header("header-2-add") == "foo")
    }

    @Test func aMirrorSendsACopyToTheMirrorBackend() {
        let mirror = GatewayConfig.Backend(service: "server/pipy-mirror", port: 8080, endpoints: ["10.2.0.9:8080"])
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(filters: [.requestMirror(mirror)])])]))
        let (id, actions) = engine.request("/", method: "POST")
        var copies: [(String, SocketAddress, HTTPRequestHead)] = []
        for case let .mirror(mirrored, cluster, endpoint, head) in actions where mirrored == id { copies.append((cluster, endpoint, head)) }
        #expect(copies.count == 1)
        #expect(copies.first?.0 == "server/pipy-mirror:8080" && copies.first?.1 == SocketAddress(ip: "10.2.0.9", port: 8080))
        #expect(copies.first?.2.method == "POST" && copies.first?.2.header("x-forwarded-for") == "203.0.113.7")
        #expect(GatewayEngineTests.sent(actions)?.cluster == "httpbin/httpbin:8080")
    }

    @Test func aStickySessionSetsItsCookieAndTheCookieKeepsTheEndpoint() {
        let sticky = GatewayEngineTests.httpbin(GatewayConfig.BackendPolicies(sessionSticky: GatewaySessionSticky(cookieName: "_srv_id", expires: 600)))
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(backends: [sticky])])]))
        let (id, actions) = engine.request("/")
        let first = GatewayEngineTests.sent(actions)?.endpoint
        guard let cookie = GatewayEngineTests.response(engine.answer(id, 200))?.0.header("set-cookie") else {
            Issue.record("a new session gets its cookie")
            return
        }
        #expect(cookie.hasSuffix("; path=/; max-age=600"))
        let value = String(cookie.prefix { $0 != ";" })
        for _ in 0..<4 {
            let (next, again) = engine.request("/", headers: [HTTPHeader(name: "cookie", value: value)])
            #expect(GatewayEngineTests.sent(again)?.endpoint == first)
            #expect(GatewayEngineTests.response(engine.answer(next, 200))?.0.header("set-cookie") == nil)
        }
    }

    @Test func hashingSendsOneClientToOneEndpoint() {
        let hashed = GatewayEngineTests.httpbin(GatewayConfig.BackendPolicies(loadBalancer: .hashing))
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(backends: [hashed])])]))
        var endpoints: Set<SocketAddress> = []
        for _ in 0..<6 {
            let (id, actions) = engine.request("/")
            if let sent = GatewayEngineTests.sent(actions) { endpoints.insert(sent.endpoint) }
            _ = engine.answer(id, 200)
        }
        #expect(endpoints.count == 1)
    }

    @Test func aRetryPolicyRetriesA503() {
        let retried = GatewayEngineTests.httpbin(GatewayConfig.BackendPolicies(retry: GatewayRetry(retryOn: ["5xx"], numRetries: 5, backoffBaseInterval: 1)))
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(backends: [retried])])]))
        let (id, _) = engine.request("/")
        let afterFailure = engine.answer(id, 503)
        #expect(afterFailure.contains { if case .startTimer(.retryBackoff(id), _) = $0 { true } else { false } })
        #expect(GatewayEngineTests.response(afterFailure) == nil)
    }

    @Test func l4ListenersConnectByPortAndPassthroughBySNI() {
        let tcp = GatewayConfig.Listener(name: "foo", port: 9000, protocol: .tcp, backends: [GatewayEngineTests.httpbin()])
        let passthrough = GatewayConfig.Listener(name: "tls", port: 9443, protocol: .tls, tls: GatewayConfig.TLS(mode: .passthrough), sniRoutes: [
            GatewayConfig.SNIRoute(hostname: "httpbin.org", route: "TLSRoute httpbin/tcp-route",
                                   backends: [GatewayConfig.Backend(service: "httpbin.org", port: 443, endpoints: ["httpbin.org:443"], external: true)]),
        ])
        var engine = Engine(GatewayEngineTests.config([], extra: [tcp, passthrough]))
        var endpoints: [SocketAddress] = []
        for n in 0..<2 {
            if case let .connect(_, endpoint) = engine.sidecar.gatewayConnection(ConnectionID(UInt64(n)), listenerPort: 9000, source: GatewayEngineTests.client, sni: nil, now: .zero, random: &engine.random) {
                endpoints.append(endpoint)
            }
        }
        #expect(Set(endpoints).count == 2, "round robin over both endpoints")
        let byName = engine.sidecar.gatewayConnection(ConnectionID(9), listenerPort: 9443, source: GatewayEngineTests.client, sni: "httpbin.org", now: .zero, random: &engine.random)
        #expect(byName == .connect(cluster: "httpbin.org:443", endpoint: SocketAddress(ip: "httpbin.org", port: 443)))
        let unknown = engine.sidecar.gatewayConnection(ConnectionID(10), listenerPort: 9443, source: GatewayEngineTests.client, sni: "other.org", now: .zero, random: &engine.random)
        #expect(unknown == .reject(.noRoute))
        #expect(engine.sidecar.gatewayTLS(listenerPort: 9443, sni: "httpbin.org") == .passthrough)
        #expect(engine.sidecar.gatewayConnection(ConnectionID(11), listenerPort: 1, source: GatewayEngineTests.client, sni: nil, now: .zero, random: &engine.random) == .reject(.noRoute))
    }

    @Test func tlsTerminationPresentsTheListenersCertificateAndAsksForAClientCertificate() {
        let certificate = GatewayConfig.Certificate(secret: "httpbin/simple-gateway-cert", certificatePEM: "CERT", privateKeyPEM: "KEY")
        let https = GatewayConfig.Listener(name: "https", port: 8443, protocol: .https, hostname: "foo.example.com",
                                           tls: GatewayConfig.TLS(mode: .terminate, certificates: [certificate], requireClientCertificate: true, clientCA: "CA"))
        let engine = Engine(GatewayEngineTests.config([], extra: [https]))
        #expect(engine.sidecar.gatewayTLS(listenerPort: 8443, sni: "foo.example.com") == .terminate(certificate: certificate, clientCA: "CA"))
        #expect(engine.sidecar.gatewayTLS(listenerPort: 8443, sni: "bar.example.com") == .reject(.noCertificate))
        #expect(engine.sidecar.gatewayTLS(listenerPort: 8000, sni: nil) == .plaintext)
    }

    @Test func aBadConfigIsRejectedAndTheLastGoodOneKeepsServing() {
        var engine = Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule()])]))
        let bad = GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [
            GatewayEngineTests.rule(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .regularExpression, value: "/(["))),
        ])])
        guard case .rejected(let reason) = engine.sidecar.applyGateway(bad) else {
            Issue.record("an invalid regex must reject the config")
            return
        }
        #expect(reason.contains("HTTPRoute httpbin/http-route-foo rule 1"))
        #expect(engine.sidecar.stats.value("config_rejected") == 1)
        let (_, actions) = engine.request("/")
        #expect(GatewayEngineTests.sent(actions)?.cluster == "httpbin/httpbin:8080")
    }
}
