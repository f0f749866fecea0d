import MeshModel

extension Report {
    /// The `--json` report in the shape SCENARIOS.md fixes: keys in that order, latencies and CPU
    /// times rounded to three decimals so that the bytes do not depend on floating-point noise.
    /// Added keys (docs/SCENARIOS.md) come after the contract's keys of the same object.
    public func json() -> JSONValue {
        var loads: [(String, JSONValue)] = []
        for load in result.loads {
            let latency = load.latency
            // Only for loads with `headers:` expectations, so other reports keep their bytes.
            let headers: [(String, JSONValue)] = load.headers.isEmpty ? [] : [("headers", .object(load.headers.map { header in
                (header.name, .object(header.values.map { ($0.value ?? "(absent)", .int($0.count)) }))
            }))]
            let upstream: [(String, JSONValue)] = load.upstreamHeaders.isEmpty ? [] : [("upstreamHeaders", .object(load.upstreamHeaders.map { header in
                (header.name, .object(header.values.map { ($0.value ?? "(absent)", .int($0.count)) }))
            }))]
            // Only for grpc:// and https:// loads, so other reports keep their bytes.
            let grpc: [(String, JSONValue)] = load.grpcStatus.isEmpty ? [] : [("grpcStatus", .object(load.grpcStatus.map { (String($0.code), .int($0.count)) }))]
            let tls: [(String, JSONValue)] = load.tlsFailures.map { [("tlsFailures", .int($0))] } ?? []
            loads.append((load.name, .object([
                ("requests", .int(load.requests)),
                ("status", .object(load.status.map { (String($0.code), .int($0.count)) })),
                ("backends", .object(load.backends.map { ($0.deployment, .int($0.count)) })),
                ("bodies", .object(load.bodies.map { ($0.text, .int($0.count)) })),
                ("latencyMs", .object([
                    ("p50", .double(ReportFormat.rounded3(latency.p50))),
                    ("p90", .double(ReportFormat.rounded3(latency.p90))),
                    ("p99", .double(ReportFormat.rounded3(latency.p99))),
                    ("p999", .double(ReportFormat.rounded3(latency.p999))),
                    ("max", .double(ReportFormat.rounded3(latency.max))),
                ])),
                ("responseFlags", .object(load.responseFlags.map { ($0.flags, .int($0.count)) })),
            ] + headers + upstream + grpc + tls)))
        }
        let apps: [(String, JSONValue)] = result.apps.map { app in
            (app.deployment, .object([("received", .int(app.received))] + app.counters.map { ($0.name, .int($0.value)) }))
        }
        let proxies: [(String, JSONValue)] = result.proxies.map { proxy in
            (proxy.pod, .object([
                ("cpuMs", .double(ReportFormat.rounded3(proxy.cpuMs))),
                ("memoryBytes", .int(proxy.memoryBytes)),
                ("configBytes", .int(proxy.configBytes)),
            ]))
        }
        let expectations: [JSONValue] = outcomes.map { outcome in
            .object([
                ("expect", .string(outcome.expectation.text)),
                ("passed", .bool(outcome.passed)),
                ("observed", .string(outcome.observed)),
            ])
        }
        return .object([
            ("scenario", .string(result.scenario.name)),
            ("seed", .int(Int64(bitPattern: result.seed))),
            ("virtualTime", .string(result.virtualTime.description)),
            ("passed", .bool(passed)),
        ] + (result.stopped.map { [("stopped", JSONValue.string($0))] } ?? []) + [
            ("loads", .object(loads)),
            ("apps", .object(apps)),
            ("proxies", .object(proxies)),
            ("expectations", .array(expectations)),
        ] + (result.traces.map { [("traces", tracesJSON($0))] } ?? []))
    }

    /// The JSON report as written to a file or stdout: two-space indented, ending in a newline.
    public func jsonText() -> String {
        json().rendered(pretty: true) + "\n"
    }
}
