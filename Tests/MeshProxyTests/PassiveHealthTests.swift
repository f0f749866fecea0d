import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// HealthCheckPolicy's passive ejection (F2-026), by itself and through the gateway engine.
@Suite("Passive health")
struct PassiveHealthTests {
    /// Without an interval the policy is passive (with one the gateway probes: `ActiveHealthTests`).
    static let policy = GatewayHealthCheck(interval: 0, maxFails: 3, failTimeout: 1, path: "/healthz", matches: [GatewayHealthCheckMatch(statusCodes: [200, 201])])

    @Test func maxFailsInARowEjectForFailTimeout() {
        var health = PassiveHealth(PassiveHealthTests.policy, endpoints: 2)
        let t0 = MeshInstant.zero
        health.record(endpoint: 1, status: 503, now: t0)
        health.record(endpoint: 1, status: 503, now: t0)
        #expect(!health.isEjected(1, now: t0))
        health.record(endpoint: 1, status: 0, now: t0)
        #expect(health.isEjected(1, now: t0 + .milliseconds(999)))
        #expect(!health.isEjected(1, now: t0 + .seconds(1)), "back after failTimeout")
        #expect(!health.isEjected(0, now: t0))
    }

    @Test func aSuccessResetsTheCountAndMatchesDecideWhatIsHealthy() {
        var health = PassiveHealth(PassiveHealthTests.policy, endpoints: 1)
        for status in [503, 503, 200, 503, 503] { health.record(endpoint: 0, status: status, now: .zero) }
        #expect(!health.isEjected(0, now: .zero))
        #expect(!health.isHealthy(204) && health.isHealthy(201))
        let noMatches = PassiveHealth(GatewayHealthCheck(interval: 0, maxFails: 1), endpoints: 1)
        #expect(noMatches.isHealthy(404) && !noMatches.isHealthy(500))
    }

    @Test func theGatewayStopsChoosingAnEjectedEndpoint() {
        let pipy = GatewayConfig.Backend(service: "server/pipy", port: 8080, endpoints: ["10.4.0.1:8080", "10.4.0.2:8080"],
                                         policies: GatewayConfig.BackendPolicies(healthCheck: PassiveHealthTests.policy))
        var engine = GatewayEngineTests.Engine(GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(backends: [pipy])])]))
        var statuses: [Int] = []
        for _ in 0..<10 {
            let (id, actions) = engine.request("/")
            let failing = GatewayEngineTests.sent(actions)?.endpoint == SocketAddress(ip: "10.4.0.2", port: 8080)
            statuses.append(GatewayEngineTests.response(engine.answer(id, failing ? 503 : 200))?.0.status ?? -1)
        }
        #expect(statuses == [200, 503, 200, 503, 200, 503, 200, 200, 200, 200], "after three 503s the failing pod is out")
    }
}
