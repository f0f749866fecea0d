import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// HealthCheckPolicy's active probes (F2-026, FSM Gateway's health-check.js), by themselves and
/// through the gateway engine as a shell drives it.
@Suite("Active health")
struct ActiveHealthTests {
    static let policy = GatewayHealthCheck(interval: 10, maxFails: 3, failTimeout: 1, path: "/healthz", matches: [GatewayHealthCheckMatch(statusCodes: [200, 201])])
    static let endpoints = [SocketAddress(ip: "10.4.0.1", port: 8080), SocketAddress(ip: "10.4.0.2", port: 8080)]

    static func answer(_ status: Int, body: String = "", headers: [HTTPHeader] = []) -> HealthProbeOutcome {
        .answered(status: status, headers: headers, body: body)
    }

    @Test func maxFailedProbesInARowEjectUntilOnePasses() {
        var health = ActiveHealth(Self.policy, endpoints: Self.endpoints, previous: nil, generation: 1)
        var next: UInt64 = 1
        for round in 1...4 {
            let started = health.startRound(firstID: next)
            next += UInt64(started.count)
            #expect(started.map(\.endpoint) == [0, 1])
            health.finish(started[0].id, passed: health.passes(Self.answer(200)))
            health.finish(started[1].id, passed: health.passes(Self.answer(503)))
            #expect(health.isEjected(1) == (round >= 3), "round \(round)")
        }
        #expect(!health.isEjected(0) && !health.allEjected)
        let started = health.startRound(firstID: next)
        #expect(health.finish(started[1].id, passed: true) == true, "a passing probe brings it back")
        #expect(!health.isEjected(1))
        #expect(health.finish(started[1].id, passed: false) == nil, "a probe is counted once")
    }

    @Test func aRoundSkipsAnEndpointWhoseProbeIsStillOut() {
        var health = ActiveHealth(Self.policy, endpoints: Self.endpoints, previous: nil, generation: 1)
        let first = health.startRound(firstID: 1)
        health.finish(first[0].id, passed: true)
        #expect(health.startRound(firstID: 3).map(\.endpoint) == [0])
    }

    @Test func matchesDecideWhatPasses() {
        let health = ActiveHealth(Self.policy, endpoints: Self.endpoints, previous: nil, generation: 1)
        #expect(health.passes(Self.answer(201)) && !health.passes(Self.answer(204)) && !health.passes(.failed))
        #expect(!health.passes(.connected), "an HTTP check needs an answer")
        let body = ActiveHealth(GatewayHealthCheck(interval: 1, maxFails: 1, path: "/", matches: [GatewayHealthCheckMatch(body: "ok")]), endpoints: [], previous: nil, generation: 1)
        #expect(body.passes(Self.answer(500, body: "ok")) && !body.passes(Self.answer(200, body: "ok\n")))
        let header = ActiveHealth(GatewayHealthCheck(interval: 1, maxFails: 1, path: "/", matches: [GatewayHealthCheckMatch(headers: [GatewayHeader(name: "X-Ready", value: "yes")])]),
                                  endpoints: [], previous: nil, generation: 1)
        #expect(header.passes(Self.answer(200, headers: [HTTPHeader(name: "x-ready", value: "yes")])) && !header.passes(Self.answer(200)))
        let any = ActiveHealth(GatewayHealthCheck(interval: 1, maxFails: 1, path: "/"), endpoints: [], previous: nil, generation: 1)
        #expect(any.passes(Self.answer(503)), "without matches any answer passes")
        let tcp = ActiveHealth(GatewayHealthCheck(interval: 1, maxFails: 1), endpoints: [], previous: nil, generation: 1)
        #expect(tcp.passes(.connected) && !tcp.passes(.failed))
    }

    @Test func whatWasLearntStaysAcrossAConfigWithTheSameCheck() {
        var health = ActiveHealth(GatewayHealthCheck(interval: 10, maxFails: 1, path: "/"), endpoints: Self.endpoints, previous: nil, generation: 1)
        let started = health.startRound(firstID: 1)
        health.finish(started[1].id, passed: false)
        let kept = ActiveHealth(health.check, endpoints: Self.endpoints.reversed(), previous: health, generation: 2)
        #expect(kept.isEjected(0) && !kept.isEjected(1), "the address, not the index, carries it")
        #expect(kept.continues(health), "and the round timer")
        let changed = ActiveHealth(GatewayHealthCheck(interval: 5, maxFails: 1, path: "/"), endpoints: Self.endpoints, previous: health, generation: 2)
        #expect(!changed.isEjected(1) && !changed.continues(health), "another check starts afresh")
    }

    /// The engine as the shells drive it: rounds on its timer, probes out as actions, their ends
    /// back; the failing endpoint leaves the choice after three failed probes and returns after a
    /// passing one; a probe past its deadline fails; an old config's timer changes nothing.
    @Test func theGatewayProbesOnItsTimerAndChoosesOnlyHealthyEndpoints() throws {
        let pipy = GatewayConfig.Backend(service: "server/pipy", port: 8080, endpoints: ["10.4.0.1:8080", "10.4.0.2:8080"],
                                         policies: GatewayConfig.BackendPolicies(healthCheck: Self.policy))
        let config = GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(backends: [pipy])])])
        var engine = GatewayEngineTests.Engine(config)
        let armed = engine.sidecar.takeConfigActions()
        guard case .startTimer(let round, let after)? = armed.first(where: { if case .startTimer(.healthRound, _) = $0 { true } else { false } }) else {
            Issue.record("no health round armed: \(armed)")
            return
        }
        #expect(after == .seconds(10))
        var random = SeededGenerator(seed: 2)
        func runRound(failing: (SocketAddress) -> HealthProbeOutcome?) -> [OutboundHTTPAction] {
            let actions = engine.sidecar.timerFired(round, now: .zero, random: &random)
            for case let .healthProbe(probe) in actions {
                #expect(probe.path == "/healthz" && probe.cluster.contains("pipy"))
                if let outcome = failing(probe.endpoint) {
                    _ = engine.sidecar.healthProbeEnded(probe.id, outcome)
                } else {
                    // No answer: the probe's deadline fails it.
                    _ = engine.sidecar.timerFired(.healthProbeTimeout(probe.id), now: .zero, random: &random)
                }
            }
            return actions
        }
        let failing = SocketAddress(ip: "10.4.0.2", port: 8080)
        for _ in 1...2 { _ = runRound { $0 == failing ? Self.answer(503) : Self.answer(200) } }
        let third = runRound { $0 == failing ? nil : Self.answer(200) }
        #expect(third.filter { if case .healthProbe = $0 { true } else { false } }.count == 2)
        #expect(third.contains(.startTimer(round, after: .seconds(10))), "the next round")
        var chosen: Set<SocketAddress> = []
        for _ in 0..<6 {
            let (id, actions) = engine.request("/")
            chosen.insert(try #require(GatewayEngineTests.sent(actions)?.endpoint))
            _ = engine.answer(id, 200)
        }
        #expect(chosen == [SocketAddress(ip: "10.4.0.1", port: 8080)])
        _ = runRound { _ in Self.answer(200) }
        chosen = []
        for _ in 0..<4 {
            let (id, actions) = engine.request("/")
            chosen.insert(try #require(GatewayEngineTests.sent(actions)?.endpoint))
            _ = engine.answer(id, 200)
        }
        #expect(chosen.count == 2, "back after a passing probe")
        let stats = engine.sidecar.stats
        #expect(stats.value(Sidecar.healthProbeFailedCounter) == 3 && stats.value(Sidecar.healthEjectedCounter) == 1 && stats.value(Sidecar.healthProbeCounter) == 8)
        // A new config with the same check: the round goes on; with another check the old round's timer is stale.
        var next = config
        next.version = "2"
        #expect(engine.sidecar.applyGateway(next) == .applied(version: "2"))
        #expect(!engine.sidecar.takeConfigActions().contains { if case .startTimer(.healthRound, _) = $0 { true } else { false } })
        #expect(engine.sidecar.timerFired(round, now: .zero, random: &random).contains { if case .healthProbe = $0 { true } else { false } })
        var changed = GatewayHealthCheck(interval: 5, maxFails: 3, path: "/healthz")
        changed.matches = Self.policy.matches
        let repolicied = GatewayConfig.Backend(service: "server/pipy", port: 8080, endpoints: ["10.4.0.1:8080", "10.4.0.2:8080"],
                                               policies: GatewayConfig.BackendPolicies(healthCheck: changed))
        var thirdConfig = GatewayEngineTests.config([GatewayConfig.VirtualHost(hostname: "*", rules: [GatewayEngineTests.rule(backends: [repolicied])])])
        thirdConfig.version = "3"
        #expect(engine.sidecar.applyGateway(thirdConfig) == .applied(version: "3"))
        #expect(engine.sidecar.takeConfigActions().contains { if case .startTimer(.healthRound, .seconds(5)) = $0 { true } else { false } })
        #expect(!engine.sidecar.timerFired(round, now: .zero, random: &random).contains { if case .healthProbe = $0 { true } else { false } })
    }
}
