import MeshManifest
import MeshModel
import MeshProxy

extension ScenarioParser {
    /// The check an `expect:` entry makes is named by the one of these keys it holds.
    static let expectChecks = ScenarioKeys.expectChecks
    static let percentiles = ScenarioKeys.percentiles

    static func parseExpectations(_ expect: YAMLReader) throws(ManifestError) -> [Expectation] {
        var result: [Expectation] = []
        for entry in try expect.elements() {
            guard entry.isMapping else { throw entry.typeMismatch(expected: .mapping) }
            let present = expectChecks.filter { entry.has($0) }
            guard present.count == 1 else {
                let message = present.isEmpty
                    ? "expected one check: status, grpcStatus, backends, bodies, latency, responseFlags, headers, bodyContains, upstreamHeaders (with load), received (with app), counter (with proxy or app) or trace (with services)"
                    : "expected exactly one check per entry, found \(present.joined(separator: " and "))"
                throw entry.error(message)
            }
            let check: Expectation.Check
            let text: String
            switch present[0] {
            case "status", "grpcStatus":
                let key = present[0]
                try entry.checkKnownKeys(ScenarioKeys.expectation(key))
                let load = try entry.string("load")
                var counts: [Int: Int] = [:]
                let map = try entry.required(key)
                guard map.isMapping else { throw map.typeMismatch(expected: .mapping) }
                let codes = key == "status" ? 0...999 : 0...16
                for (text, value) in try map.entries() {
                    guard let code = Int(text), codes.contains(code) else {
                        let expected = key == "status" ? "a status code (0 for a failed connection, 100-599)" : "a gRPC status code (0 OK ... 16 UNAUTHENTICATED)"
                        throw value.error("expected \(expected), found \(YAMLReader.quotedText(text))")
                    }
                    counts[code] = try value.int(in: 0...Int.max)
                }
                check = key == "status" ? .status(load: load, counts: counts) : .grpcStatus(load: load, counts: counts)
                text = "\(load) \(key) {" + counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"

            case "backends":
                try entry.checkKnownKeys(ScenarioKeys.expectation("backends"))
                let load = try entry.string("load")
                let map = try entry.required("backends")
                guard map.isMapping else { throw map.typeMismatch(expected: .mapping) }
                var shares: [String: Double] = [:]
                var written: [String] = []
                for (deployment, value) in try map.entries() {
                    let share = try fraction(value)
                    shares[deployment] = share
                    written.append("\(deployment): \(percentText(share))")
                }
                // Without `tolerance`, 5 points either way: shares come from discrete requests.
                let tolerance = try entry.optional("tolerance").map { reader throws(ManifestError) in try fraction(reader) } ?? 0.05
                check = .backends(load: load, shares: shares, tolerance: tolerance)
                text = "\(load) backends {" + written.joined(separator: ", ") + "} ± \(percentText(tolerance))"

            case "bodies":
                try entry.checkKnownKeys(ScenarioKeys.expectation("bodies"))
                let load = try entry.string("load")
                let map = try entry.required("bodies")
                guard map.isMapping else { throw map.typeMismatch(expected: .mapping) }
                var shares: [String: Double] = [:]
                var written: [String] = []
                for (body, value) in try map.entries() {
                    let share = try fraction(value)
                    shares[body] = share
                    written.append("\(ExpectationChecker.quote(body)): \(percentText(share))")
                }
                if shares.isEmpty { throw map.error("expected at least one body text with its share, e.g. { \"Hi, I am v1!\": 50% }") }
                let tolerance = try entry.optional("tolerance").map { reader throws(ManifestError) in try fraction(reader) } ?? 0.05
                check = .bodies(load: load, shares: shares, tolerance: tolerance)
                text = "\(load) bodies {" + written.joined(separator: ", ") + "} ± \(percentText(tolerance))"

            case "trace":
                try entry.checkKnownKeys(ScenarioKeys.expectation("trace"))
                let source = try entry.string("trace")
                let servicesReader = try entry.required("services")
                let services = try servicesReader.elements().map { reader throws(ManifestError) in try reader.string() }
                if services.isEmpty { throw servicesReader.error("expected at least one service name, e.g. [bookbuyer, bookstore]") }
                check = .trace(source: source, services: services)
                text = "trace of \(source) spans " + services.joined(separator: ", ")

            case "received":
                try entry.checkKnownKeys(ScenarioKeys.expectation("received"))
                let app = try entry.string("app")
                let count = try entry.required("received").int(in: 0...Int.max)
                check = .received(app: app, count: count)
                text = "app \(app) received \(count)"

            case "latency":
                try entry.checkKnownKeys(ScenarioKeys.expectation("latency"))
                let load = try entry.string("load")
                let map = try entry.required("latency")
                guard map.isMapping else { throw map.typeMismatch(expected: .mapping) }
                var bounds: [LatencyBound] = []
                for (percentile, value) in try map.entries() {
                    guard percentiles.contains(percentile) else {
                        throw ManifestError(at: value.keyLocation, path: value.path, message: "unknown percentile \(YAMLReader.quotedText(percentile)); expected one of: \(percentiles.joined(separator: ", "))")
                    }
                    let (comparison, rest) = splitComparison(try value.scalarText())
                    guard let bound = MeshDuration(parsing: rest) else {
                        throw value.error("expected a bound such as \"< 5ms\" or \"<= 1.5ms\", found \(YAMLReader.quotedText(try value.scalarText()))")
                    }
                    bounds.append(LatencyBound(percentile: percentile, comparison: comparison ?? .lessOrEqual, bound: bound))
                }
                if bounds.isEmpty { throw map.error("expected at least one percentile bound, e.g. { p99: \"< 5ms\" }") }
                check = .latency(load: load, bounds: bounds)
                text = "\(load) latency {" + bounds.map { "\($0.percentile): \($0.comparison.rawValue) \($0.bound)" }.joined(separator: ", ") + "}"

            case "responseFlags":
                try entry.checkKnownKeys(ScenarioKeys.expectation("responseFlags"))
                let load = try entry.string("load")
                let bounds = try flagBounds(try entry.required("responseFlags"))
                check = .responseFlags(load: load, bounds: bounds)
                text = "\(load) responseFlags {" + bounds.map { "\($0.flag) \($0.comparison.rawValue) \(JSONValue.format($0.value))" }.joined(separator: ", ") + "}"

            case "headers":
                try entry.checkKnownKeys(ScenarioKeys.expectation("headers"))
                let load = try entry.string("load")
                let values = try headerExpectations(try entry.required("headers"))
                check = .headers(load: load, values: values)
                text = "\(load) headers {" + values.map { "\($0.name): \($0.value.map(ExpectationChecker.quote) ?? "null")" }.joined(separator: ", ") + "}"

            case "upstreamHeaders":
                try entry.checkKnownKeys(ScenarioKeys.expectation("upstreamHeaders"))
                let load = try entry.string("load")
                let values = try headerExpectations(try entry.required("upstreamHeaders"), pseudoHeaders: true)
                check = .upstreamHeaders(load: load, values: values)
                text = "\(load) upstreamHeaders {" + values.map { "\($0.name): \($0.value.map(ExpectationChecker.quote) ?? "null")" }.joined(separator: ", ") + "}"

            case "bodyContains":
                try entry.checkKnownKeys(ScenarioKeys.expectation("bodyContains"))
                let load = try entry.string("load")
                let reader = try entry.required("bodyContains")
                let needle = try reader.scalarText()
                if needle.isEmpty { throw reader.error("expected a non-empty text, e.g. \"Hi, I am pipy!\"") }
                check = .bodyContains(load: load, text: needle)
                text = "\(load) bodyContains \(ExpectationChecker.quote(needle))"

            default:
                if entry.has("app") {
                    // An app model counter: `app: bookbuyer`, `counter: booksBought`, `value: "> 5"`.
                    try entry.checkKnownKeys(ScenarioKeys.expectation("counter", subject: "app"))
                    let app = try entry.string("app")
                    let name = try entry.string("counter")
                    let (comparison, value) = try counterValue(entry)
                    check = .appCounter(app: app, name: name, comparison: comparison, value: value)
                    text = "app \(app) counter \(name) \(comparison.rawValue) \(JSONValue.format(value))"
                } else {
                    try entry.checkKnownKeys(ScenarioKeys.expectation("counter", subject: "proxy"))
                    let proxyReader = try entry.required("proxy")
                    let proxy = try proxyReader.string()
                    guard splitQualified(proxy) != nil else {
                        throw proxyReader.error("expected namespace/deployment, found \(YAMLReader.quotedText(proxy))")
                    }
                    let name = try entry.string("counter")
                    let (comparison, value) = try counterValue(entry)
                    check = .counter(proxy: proxy, name: name, comparison: comparison, value: value)
                    text = "proxy \(proxy) counter \(name) \(comparison.rawValue) \(JSONValue.format(value))"
                }
            }
            result.append(Expectation(check: check, text: text, location: entry.location))
        }
        return result
    }

    /// `{ UF: "> 0", UO: 17 }`: Envoy flag names, each with a number (exact) or a comparison.
    private static func flagBounds(_ map: YAMLReader) throws(ManifestError) -> [FlagBound] {
        guard map.isMapping else { throw map.typeMismatch(expected: .mapping) }
        var bounds: [FlagBound] = []
        let names = ResponseFlags.named.map(\.name)
        for (flag, value) in try map.entries() {
            guard names.contains(flag) else {
                throw ManifestError(at: value.keyLocation, path: value.path,
                                    message: "unknown response flag \(YAMLReader.quotedText(flag)); expected one of: \(names.joined(separator: ", "))")
            }
            let (comparison, number) = try comparisonValue(value)
            bounds.append(FlagBound(flag: flag, comparison: comparison, value: number))
        }
        if bounds.isEmpty { throw map.error("expected at least one response flag with its count, e.g. { UO: \"> 0\" }") }
        return bounds
    }

    /// `{ name: value | null }`: header names are case-insensitive (kept lowercase), values exact.
    /// With `pseudoHeaders`, `:method`, `:path` and `:authority` name the request line's parts.
    static let pseudoHeaderNames = [":method", ":path", ":authority"]

    private static func headerExpectations(_ map: YAMLReader, pseudoHeaders: Bool = false) throws(ManifestError) -> [HeaderExpectation] {
        guard map.isMapping else { throw map.typeMismatch(expected: .mapping) }
        var values: [HeaderExpectation] = []
        for (name, value) in try map.entries() {
            if !(pseudoHeaders && pseudoHeaderNames.contains(name)) { try checkHeaderName(name, of: value) }
            let field = value.isNull ? nil : try headerField(name, value, pseudoHeaders: pseudoHeaders)
            let lowered = name.lowercased()
            if values.contains(where: { $0.name == lowered }) {
                throw ManifestError(at: value.keyLocation, path: value.path, message: "header \(YAMLReader.quotedText(name)) is listed twice (names are case-insensitive)")
            }
            values.append(HeaderExpectation(name: lowered, value: field?.value))
        }
        if values.isEmpty { throw map.error("expected at least one header, e.g. { location: \"https://foo.example.com/bar\" }") }
        return values
    }

    /// A counter's `value:`: a number (exact) or a comparison such as `"> 0"`.
    private static func counterValue(_ entry: YAMLReader) throws(ManifestError) -> (Comparison, Double) {
        try comparisonValue(try entry.required("value"))
    }

    private static func comparisonValue(_ valueReader: YAMLReader) throws(ManifestError) -> (Comparison, Double) {
        if valueReader.valueType == .integer || valueReader.valueType == .number {
            return (.equal, try valueReader.double())
        }
        let written = try valueReader.string()
        let (parsedComparison, rest) = splitComparison(written)
        guard let number = Double(rest), number.isFinite else {
            throw valueReader.error("expected a number or a comparison such as \"> 0\", found \(YAMLReader.quotedText(written))")
        }
        return (parsedComparison ?? .equal, number)
    }

    /// `"< 5ms"` → (`<`, `5ms`); no operator → (nil, text).
    static func splitComparison(_ text: String) -> (Comparison?, String) {
        let trimmed = text.drop(while: { $0 == " " })
        // Two-character operators first so that `<=` is not read as `<`.
        for op in ["<=", ">=", "==", "!=", "<", ">", "="] where trimmed.hasPrefix(op) {
            let comparison = op == "=" ? Comparison.equal : Comparison(rawValue: op)
            return (comparison, String(trimmed.dropFirst(op.count).drop(while: { $0 == " " })).trimmingTrailingSpaces())
        }
        return (nil, String(trimmed).trimmingTrailingSpaces())
    }

    /// `0.5` → `50%`, `0.125` → `12.5%`.
    static func percentText(_ fraction: Double) -> String {
        JSONValue.format((fraction * 100_000).rounded() / 1000) + "%"
    }

    // MARK: - cross-checks

    /// Checks that need the whole file: unique load names, expectations naming loads that exist,
    /// `from`, `app` and `proxy` naming Deployments of the manifests or of an `apply` step.
    static func crossCheck(_ scenario: Scenario, root: YAMLReader) throws(ManifestError) {
        var workloads: [ResourceKey] = []
        func collect(_ resources: [Resource]) {
            for case .workload(let workload) in resources {
                workloads.append(ResourceKey(kind: .deployment, namespace: workload.metadata.namespace, name: workload.metadata.name))
            }
            // A bare Pod is an app of its own name, as the simulator counts it.
            for case .pod(let pod) in resources {
                workloads.append(ResourceKey(kind: .deployment, namespace: pod.metadata.namespace, name: pod.metadata.name))
            }
        }
        collect(scenario.manifests)
        for step in scenario.steps { if case .apply(let resources) = step.action { collect(resources) } }
        let workloadNames = Set(workloads.map(\.name))
        let externalNames = Set(scenario.externalHosts.map(\.name))
        let qualifiedNames = Set(workloads.map { "\($0.namespace)/\($0.name)" })
        func known() -> String {
            qualifiedNames.isEmpty ? "none are declared" : "known: " + qualifiedNames.sorted().joined(separator: ", ")
        }

        let stepReaders = try root.optional("steps")?.elements() ?? []
        var loadNames: Set<String> = []
        for step in scenario.steps {
            guard case .load(let load) = step.action else { continue }
            let reader = stepReaders.first { $0.location == step.location }
            if !loadNames.insert(load.name).inserted {
                let nameReader = try reader?.required("load").required("name")
                throw ManifestError(at: nameReader?.location ?? step.location ?? root.location, path: nameReader?.path ?? "steps",
                                    message: "duplicate load name \(YAMLReader.quotedText(load.name)); load names must be unique")
            }
            if !load.isExternal, !qualifiedNames.contains(load.from) {
                let fromReader = try reader?.required("load").required("from")
                throw ManifestError(at: fromReader?.location ?? step.location ?? root.location, path: fromReader?.path ?? "steps",
                                    message: "no Deployment \(YAMLReader.quotedText(load.from)) in the manifests (\(known()))")
            }
            if let tls = load.tls, let tlsReader = try reader?.required("load").optional("tls") {
                try checkTLSSecrets(tls, reader: tlsReader, secrets: secrets(of: scenario))
            }
        }

        if let apps = try root.optional("apps") {
            for (deployment, value) in try apps.entries() {
                if let spec = scenario.apps[deployment], let name = spec.options["secret"] {
                    try checkCertificateSecret(name, key: spec.options["certificateKey"] ?? Secret.certificateKey, reader: try value.required("secret"),
                                               secrets: secrets(of: scenario))
                }
                guard !workloadNames.contains(deployment) else { continue }
                throw ManifestError(at: value.keyLocation, path: value.path,
                                    message: "no Deployment named \(YAMLReader.quotedText(deployment)) in the manifests (\(known()))")
            }
        }

        let expectReaders = try root.optional("expect")?.elements() ?? []
        for (expectation, reader) in zip(scenario.expectations, expectReaders) {
            switch expectation.check {
            case .status(let load, _), .grpcStatus(let load, _), .backends(let load, _, _), .bodies(let load, _, _), .latency(let load, _), .responseFlags(let load, _),
                 .headers(let load, _), .bodyContains(let load, _), .upstreamHeaders(let load, _):
                if !loadNames.contains(load) {
                    let loadReader = try reader.required("load")
                    let names = loadNames.isEmpty ? "the scenario declares no load" : "loads: " + loadNames.sorted().joined(separator: ", ")
                    throw loadReader.error("no load named \(YAMLReader.quotedText(load)) (\(names))")
                }
            case .trace(let source, _):
                if !loadNames.contains(source), !workloadNames.contains(source) {
                    throw try reader.required("trace").error("no load or Deployment named \(YAMLReader.quotedText(source)) (\(known()))")
                }
            case .received(let app, _):
                if !workloadNames.contains(app), !externalNames.contains(app) {
                    throw try reader.required("app").error("no Deployment or external host named \(YAMLReader.quotedText(app)) (\(known()))")
                }
            case .appCounter(let app, _, _, _):
                if !workloadNames.contains(app) {
                    throw try reader.required("app").error("no Deployment named \(YAMLReader.quotedText(app)) in the manifests (\(known()))")
                }
            case .counter(let proxy, _, _, _):
                if !qualifiedNames.contains(proxy), !qualifiedNames.contains(where: { ProxyResult.pod(proxy, belongsTo: $0) }) {
                    throw try reader.required("proxy").error("no Deployment \(YAMLReader.quotedText(proxy)) in the manifests (\(known()))")
                }
            }
        }
    }
}

extension ScenarioParser {
    /// Every Secret the manifests and `apply:` steps create, by `namespace/name`.
    static func secrets(of scenario: Scenario) -> [String: Secret] {
        var result: [String: Secret] = [:]
        let applied = scenario.steps.flatMap { step -> [Resource] in if case .apply(let resources) = step.action { resources } else { [] } }
        for case .secret(let secret) in scenario.manifests + applied {
            result["\(secret.metadata.namespace)/\(secret.metadata.name)"] = secret
        }
        return result
    }

    /// A load's `caSecret` must exist with a `ca.crt`, its `clientSecret` with a `tls.crt`.
    static func checkTLSSecrets(_ tls: LoadTLS, reader: YAMLReader, secrets: [String: Secret]) throws(ManifestError) {
        for (key, name, needed) in [("caSecret", tls.caSecret, Secret.caKey), ("clientSecret", tls.clientSecret, Secret.certificateKey)] {
            guard let name else { continue }
            try checkCertificateSecret(name, key: needed, reader: try reader.required(key), secrets: secrets)
        }
    }

    /// The Secret `name` exists in the manifests and holds `key`.
    static func checkCertificateSecret(_ name: String, key: String, reader at: YAMLReader, secrets: [String: Secret]) throws(ManifestError) {
        guard let secret = secrets[name] else {
            let known = secrets.keys.sorted()
            throw at.error("no Secret \(YAMLReader.quotedText(name)) in the manifests (\(known.isEmpty ? "none are declared" : "known: " + known.joined(separator: ", ")))")
        }
        guard secret.data[key] != nil else {
            throw at.error("Secret \(YAMLReader.quotedText(name)) has no \(key) (keys: \(secret.data.keys.sorted().joined(separator: ", ")))")
        }
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
