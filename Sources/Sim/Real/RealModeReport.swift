import MeshModel
import SimCore

/// A real run and a simulated run of the same scenario, judged by the same `ExpectationChecker`,
/// rendered side by side.
public struct RealModeReport: Sendable {
    public var real: Report
    public var simulated: Report
    public var subnet: Int
    /// Sidecar to sidecar was mTLS (the default) rather than plain HTTP.
    public var mutualTLS: Bool
    /// The FSM Gateway pods that ran (`fsm-gateway-<ns>`).
    public var gateways: [String]

    public init(real: Report, simulated: Report, subnet: Int, mutualTLS: Bool = true, gateways: [String] = []) {
        self.real = real
        self.simulated = simulated
        self.subnet = subnet
        self.mutualTLS = mutualTLS
        self.gateways = gateways
    }

    /// Both runs met every expectation.
    public var passed: Bool { real.passed && simulated.passed }

    /// The exit status SCENARIOS.md gives: 0 every expectation held (in both runs), 1 one failed.
    public var exitStatus: Int32 { passed ? 0 : 1 }

    /// The summary: per load and per expectation, the real column next to the simulated one.
    public func text() -> String {
        let scenario = real.result.scenario
        var out: [String] = []
        out.append("seed: \(real.result.seed)")
        out.append("scenario: \(scenario.name)" + (scenario.file.isEmpty ? "" : " (\(scenario.file))") + "  [real mode]")
        if !scenario.description.isEmpty { out.append("  \(scenario.description)") }
        let gatewayPods = gateways.isEmpty ? "" : ", FSM Gateway pods (\(gateways.joined(separator: ", ")); the outside client at \(RealOutsideClient.address))"
        out.append("real: sidecars (MeshRuntime, \(mutualTLS ? "mTLS" : "plaintext") between sidecars)\(gatewayPods) and app servers on 127.82.\(subnet).0/24, wall-clock time \(seconds(real.result.virtualTime))")
        out.append("simulated: virtual time \(simulated.result.virtualTime.readable); the scenario's network latency is modelled there, not injected in the real run")
        let width = 34
        func row(_ label: String, _ left: String, _ right: String) -> String {
            "  " + pad(label, 20) + " " + pad(left, width) + " " + right
        }
        out.append("")
        out.append("  " + pad("", 20) + " " + pad("REAL", width) + " SIMULATED")
        for load in real.result.loads {
            let other = simulated.result.loads.first(where: { $0.name == load.name })
            out.append("load \(load.name)")
            out.append(row("requests", String(load.requests), other.map { String($0.requests) } ?? "-"))
            out.append(row("status", statusText(load), other.map(statusText) ?? "-"))
            if !load.backends.isEmpty || !(other?.backends.isEmpty ?? true) {
                out.append(row("backends", backendsText(load), other.map(backendsText) ?? "-"))
            }
            if !load.bodies.isEmpty || !(other?.bodies.isEmpty ?? true) {
                out.append(row("bodies", bodiesText(load), other.map(bodiesText) ?? "-"))
            }
            if !load.responseFlags.isEmpty || !(other?.responseFlags.isEmpty ?? true) {
                out.append(row("flags", flagsText(load), other.map(flagsText) ?? "-"))
            }
            // As the simulator's summary shows them: gRPC statuses (grpc://), TLS failures (https://).
            if !load.grpcStatus.isEmpty || !(other?.grpcStatus.isEmpty ?? true) {
                out.append(row("grpc", grpcText(load), other.map(grpcText) ?? "-"))
            }
            if load.tlsFailures != nil || other?.tlsFailures != nil {
                out.append(row("tls failures", load.tlsFailures.map(String.init) ?? "-", other?.tlsFailures.map(String.init) ?? "-"))
            }
            out.append(row("latency p50/p99", latencyText(load), other.map(latencyText) ?? "-"))
        }
        let realApps = real.result.apps, simApps = simulated.result.apps
        if !realApps.isEmpty {
            out.append("apps (received)")
            for app in realApps {
                out.append(row(app.deployment, String(app.received), simApps.first(where: { $0.deployment == app.deployment }).map { String($0.received) } ?? "-"))
            }
        }
        out.append("")
        out.append("expectations")
        for (index, outcome) in real.outcomes.enumerated() {
            let other = index < simulated.outcomes.count ? simulated.outcomes[index] : nil
            out.append("  \(outcome.expectation.text)")
            out.append(row("", verdict(outcome), other.map(verdict) ?? "-"))
        }
        out.append("")
        out.append("result: real \(real.passed ? "PASS" : "FAIL"), simulated \(simulated.passed ? "PASS" : "FAIL")")
        return out.joined(separator: "\n") + "\n"
    }

    /// `{"scenario", "seed", "passed", "real": <sim report shape>, "simulated": <sim report shape>}`.
    public func json() -> JSONValue {
        .object([
            ("scenario", .string(real.result.scenario.name)),
            ("seed", .int(Int64(bitPattern: real.result.seed))),
            ("mode", .string("real")),
            ("passed", .bool(passed)),
            ("real", real.json()),
            ("simulated", simulated.json()),
        ])
    }

    public func jsonText() -> String { json().rendered(pretty: true) + "\n" }

    // MARK: - Formatting

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func statusText(_ load: LoadResult) -> String {
        load.status.isEmpty ? "none" : load.status.map { "\($0.code): \($0.count)" }.joined(separator: ", ")
    }

    private func backendsText(_ load: LoadResult) -> String {
        load.backends.map { "\($0.deployment) \($0.count)" }.joined(separator: ", ")
    }

    private func flagsText(_ load: LoadResult) -> String {
        load.responseFlags.isEmpty ? "-" : load.responseFlags.map { "\($0.flags) \($0.count)" }.joined(separator: ", ")
    }

    private func grpcText(_ load: LoadResult) -> String {
        load.grpcStatus.isEmpty ? "-" : load.grpcStatus.map { "\($0.code): \($0.count)" }.joined(separator: ", ")
    }

    private func bodiesText(_ load: LoadResult) -> String {
        load.bodies.map { "\"\($0.text)\" \($0.count)" }.joined(separator: ", ")
    }

    private func latencyText(_ load: LoadResult) -> String {
        "\(milliseconds(load.latency.p50)) / \(milliseconds(load.latency.p99))"
    }

    private func seconds(_ duration: MeshDuration) -> String { duration.readable }

    private func milliseconds(_ value: Double) -> String { ReadableDuration.text(milliseconds: value) }

    private func verdict(_ outcome: ExpectationOutcome) -> String {
        (outcome.passed ? "PASS " : "FAIL ") + outcome.observed
    }
}
