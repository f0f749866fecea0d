import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The gateway engine's policies and held requests, driven through its public entry points.
@Suite("Gateway engine policies")
struct GatewayEnginePolicyTests {
    typealias T = GatewayEngineTests

    static func rule(_ match: GatewayHTTPRouteMatch = .init(), grpc: GatewayGRPCRouteMatch? = nil, backends: [GatewayConfig.Backend] = [T.httpbin()],
                     rateLimit: GatewayRateLimit? = nil, fault: GatewayFaultInjection? = nil) -> GatewayConfig.Rule {
        GatewayConfig.Rule(route: "HTTPRoute httpbin/http-route-foo", ruleIndex: 0, match: grpc == nil ? match : nil, grpcMatch: grpc, backends: backends,
                           rateLimit: rateLimit.map { .init(source: "RateLimitPolicy httpbin/rl hostnames[0]", settings: $0) },
                           faultInjection: fault.map { .init(source: "FaultInjectionPolicy httpbin/fi http[0]", settings: $0) })
    }

    @Test func aGRPCRuleMatchesServiceAndMethodAndItsBackendSpeaksHTTP2() {
        let grpcbin = GatewayConfig.Backend(service: "grpcbin/grpcbin", port: 9000, endpoints: ["10.3.0.2:9000"])
        var engine = T.Engine(T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [
            GatewayEnginePolicyTests.rule(grpc: GatewayGRPCRouteMatch(service: "hello.HelloService", method: "SayHello"), backends: [grpcbin]),
        ])]))
        let (_, actions) = engine.request("/hello.HelloService/SayHello", method: "POST")
        #expect(actions.contains { if case .send(_, _, "grpcbin/grpcbin:9000", _, _, _, .grpc) = $0 { true } else { false } })
        let (_, other) = engine.request("/hello.HelloService/LotsOfReplies", method: "POST")
        #expect(T.response(other)?.0.status == 404)
    }

    @Test func aFaultDelayHoldsTheRequestThenTheRouterSendsIt() {
        let delay = GatewayFaultInjection(delay: GatewayFaultDelay(percent: 100, fixed: 500, unit: .ms))
        var engine = T.Engine(T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule(fault: delay)])]))
        let (id, actions) = engine.request("/get")
        #expect(actions == [.startTimer(.filterResume(id), after: .milliseconds(500))])
        let resumed = engine.sidecar.timerFired(.filterResume(id), now: MeshInstant(nanoseconds: 500_000_000), random: &engine.random)
        #expect(T.rewritten(resumed)?.header("x-forwarded-for") == "203.0.113.7")
        #expect(T.sent(resumed)?.cluster == "httpbin/httpbin:8080")
    }

    @Test func aConfigAppliedDuringAHoldRoutesTheRequestAnew() {
        let delay = GatewayFaultInjection(delay: GatewayFaultDelay(percent: 100, fixed: 500, unit: .ms))
        var engine = T.Engine(T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule(fault: delay)])]))
        let (id, _) = engine.request("/get")
        let moved = GatewayConfig.Backend(service: "httpbin/httpbin-v2", port: 8080, endpoints: ["10.1.0.9:80"])
        var next = T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule(backends: [moved], fault: delay)])])
        next.version = "2"
        #expect(engine.sidecar.applyGateway(next) == .applied(version: "2"))
        let resumed = engine.sidecar.timerFired(.filterResume(id), now: MeshInstant(nanoseconds: 500_000_000), random: &engine.random)
        #expect(T.sent(resumed)?.cluster == "httpbin/httpbin-v2:8080", "its delay done, the request goes by the new config")
    }

    @Test func aRateLimitAnswersItsStatusAndHeadersOnceTheBucketIsEmpty() {
        let limit = GatewayRateLimit(requests: 2, statTimeWindow: 60, responseStatusCode: 429, responseHeadersToAdd: [GatewayHeader(name: "RateLimit-Limit", value: "2")])
        var engine = T.Engine(T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule(rateLimit: limit)])]))
        for _ in 0..<2 { #expect(T.sent(engine.request("/").1) != nil) }
        let answer = T.response(engine.request("/").1)
        #expect(answer?.0.status == 429 && answer?.0.header("ratelimit-limit") == "2" && answer?.1 == .rateLimited)
        #expect(engine.sidecar.stats.value("gateway.rate_limited") == 1)
    }

    @Test func aPortsAccessControlRefusesL4Connections() {
        var tcp = GatewayConfig.Listener(name: "foo", port: 9000, protocol: .tcp, backends: [T.httpbin()])
        tcp.accessControl = .init(source: "AccessControlPolicy httpbin/ac ports[0]", settings: GatewayAccessControl(blacklist: ["203.0.113.0/24"]))
        var engine = T.Engine(T.config([], extra: [tcp]))
        let decision = engine.sidecar.gatewayConnection(ConnectionID(1), listenerPort: 9000, source: T.client, sni: nil, now: .zero, random: &engine.random)
        #expect(decision == .reject(.accessDenied))
        #expect(engine.sidecar.gatewayListenerProtocol(port: 9000) == .tcp)
    }

    @Test func upstreamTLSIsAskedForByCluster() {
        let client = GatewayConfig.Certificate(secret: "httpbin/https-cert", certificatePEM: "CERT", privateKeyPEM: "KEY")
        let secured = T.httpbin(GatewayConfig.BackendPolicies(upstreamTLS: GatewayConfig.UpstreamTLS(caPEM: "CA", mTLS: true, clientCertificate: client)))
        let engine = T.Engine(T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule(backends: [secured])])]))
        #expect(engine.sidecar.gatewayUpstreamSecurity(cluster: "httpbin/httpbin:8080") == .tls(caPEM: "CA", clientCertificate: client))
        #expect(engine.sidecar.gatewayUpstreamSecurity(cluster: "elsewhere:1") == .plaintext)
    }

    @Test func aPortsBytesPerSecondHoldsAnUploadUntilItsBytesWouldHaveCrossed() {
        var config = T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule()])])
        config.listeners[0].bytesPerSecond = 2048
        var engine = T.Engine(config)
        let upload = [HTTPHeader(name: "content-length", value: "8192")]
        let (id, held) = engine.request("/status/200", method: "POST", headers: upload)
        #expect(held == [.startTimer(.filterResume(id), after: .seconds(3))])
        #expect(engine.sidecar.stats.value("gateway.upload_paced") == 1)
        let resumed = engine.sidecar.timerFired(.filterResume(id), now: MeshInstant(nanoseconds: 3_000_000_000), random: &engine.random)
        #expect(T.sent(resumed)?.cluster == "httpbin/httpbin:8080", "held once, then routed")
        // A request without a body is not held, whatever the port owes.
        #expect(T.sent(engine.request("/get").1) != nil)
        // Another port, or no policy: not paced.
        var unpaced = T.Engine(T.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEnginePolicyTests.rule()])]))
        #expect(T.sent(unpaced.request("/status/200", method: "POST", headers: upload).1) != nil)
    }
}

