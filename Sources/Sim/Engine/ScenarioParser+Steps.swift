import MeshControl
import MeshModel

extension ScenarioParser {
    static let stepActions = ["apply", "delete", "load", "fault"]
    static let loadKeys = ["name", "from", "url", "method", "headers", "requests", "duration", "qps", "concurrency"]
    static let faultKinds = ["kill-pod", "sidecar-crash", "partition", "latency", "error"]

    static func parseSteps(_ steps: YAMLReader, scenarioDuration: MeshDuration?) throws(ManifestError) -> [Step] {
        var parsed: [Step] = []
        for step in try steps.elements() {
            guard step.isMapping else { throw step.typeMismatch(expected: .mapping) }
            try step.checkKnownKeys(["at"] + stepActions)
            let at = try step.required("at").duration()
            let present = stepActions.filter { step.has($0) }
            guard present.count == 1 else {
                let message = present.isEmpty
                    ? "expected one action: \(stepActions.joined(separator: ", "))"
                    : "expected exactly one action, found \(present.joined(separator: " and "))"
                throw step.error(message)
            }
            let value = try step.required(present[0])
            let action: Step.Action
            switch present[0] {
            case "apply": action = .apply(try decodeEmbedded(value))
            case "delete": action = .delete(try parseDelete(value))
            case "load": action = .load(try parseLoad(value, scenarioDuration: scenarioDuration))
            default: action = .fault(try parseFault(value))
            }
            parsed.append(Step(at: at, action: action, location: step.location))
        }
        // Stable: steps written at the same time keep their file order.
        return parsed.enumerated()
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map(\.element)
    }

    static func parseDelete(_ value: YAMLReader) throws(ManifestError) -> ResourceKey {
        guard value.isMapping else { throw value.typeMismatch(expected: .mapping) }
        try value.checkKnownKeys(["kind", "namespace", "name"])
        let kind = try value.required("kind").oneOf(ResourceKind.self)
        let name = try value.string("name")
        let clusterScoped = kind == .namespace
        let namespace = try value.optionalString("namespace") ?? (clusterScoped ? "" : "default")
        return ResourceKey(kind: kind, namespace: namespace, name: name)
    }

    static func parseLoad(_ value: YAMLReader, scenarioDuration: MeshDuration?) throws(ManifestError) -> LoadSpec {
        guard value.isMapping else { throw value.typeMismatch(expected: .mapping) }
        try value.checkKnownKeys(loadKeys)
        let name = try value.string("name")
        if name.isEmpty { throw try value.required("name").error("expected a non-empty load name") }
        let fromReader = try value.required("from")
        let from = try fromReader.string()
        guard splitQualified(from) != nil else {
            throw fromReader.error("expected namespace/deployment, found \(YAMLReader.quotedText(from))")
        }
        let urlReader = try value.required("url")
        let url = try urlReader.string()
        guard url.hasPrefix("http://") || url.hasPrefix("tcp://"), url.split(separator: "/", omittingEmptySubsequences: true).count >= 2 else {
            throw urlReader.error("expected http://host:port/path or tcp://host:port, found \(YAMLReader.quotedText(url))")
        }
        var load = LoadSpec(name: name, from: from, url: url)
        if let method = try value.optional("method") {
            load.method = try method.oneOf(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], caseInsensitive: true)
        }
        if let headers = try value.optional("headers") {
            var fields: [HTTPHeaderField] = []
            for (header, headerValue) in try headers.entries() {
                fields.append(HTTPHeaderField(name: header, value: try headerValue.scalarText()))
            }
            load.headers = fields
        }
        load.requests = try value.optional("requests")?.int(in: 1...Int.max)
        load.duration = try value.optional("duration")?.duration()
        if let qps = try value.optional("qps") {
            load.qps = try qps.double(in: Double.leastNonzeroMagnitude...1e9)
        }
        if let concurrency = try value.optional("concurrency") {
            load.concurrency = try concurrency.int(in: 1...100_000)
        }
        if load.requests == nil, load.duration == nil, scenarioDuration == nil {
            throw value.error("expected \"requests\" or \"duration\" (or a scenario-level duration): otherwise the load never ends")
        }
        return load
    }

    static func parseFault(_ value: YAMLReader) throws(ManifestError) -> FaultSpec {
        guard value.isMapping else { throw value.typeMismatch(expected: .mapping) }
        let kind = try value.required("kind").oneOf(faultKinds)
        switch kind {
        case "kill-pod":
            try value.checkKnownKeys(["kind", "target", "restartAfter"])
            return .killPod(target: try target(value, "target"), restartAfter: try value.optional("restartAfter")?.duration())
        case "sidecar-crash":
            try value.checkKnownKeys(["kind", "target", "restartAfter"])
            let restartAfter = try value.optional("restartAfter")?.duration() ?? CrashLoopBackoff.Settings.kubelet.base
            return .sidecarCrash(target: try target(value, "target"), restartAfter: restartAfter)
        case "partition":
            try value.checkKnownKeys(["kind", "between", "duration"])
            let between = try value.required("between")
            var sides: [String] = []
            for side in try between.elements() {
                let text = try side.string()
                guard splitQualified(text) != nil else { throw side.error("expected namespace/deployment, found \(YAMLReader.quotedText(text))") }
                sides.append(text)
            }
            guard sides.count == 2 else { throw between.error("expected two namespace/deployment entries, found \(sides.count)") }
            return .partition(between: sides, duration: try value.optional("duration")?.duration())
        case "latency":
            try value.checkKnownKeys(["kind", "target", "add", "duration"])
            return .latency(target: try target(value, "target"), add: try value.required("add").duration(), duration: try value.optional("duration")?.duration())
        default:
            try value.checkKnownKeys(["kind", "target", "status", "rate", "duration"])
            let status = try value.required("status").int(in: 100...599)
            let rate = try value.optional("rate").map { reader throws(ManifestError) in try fraction(reader) } ?? 1
            return .error(target: try target(value, "target"), status: status, rate: rate, duration: try value.optional("duration")?.duration())
        }
    }

    private static func target(_ value: YAMLReader, _ key: String) throws(ManifestError) -> String {
        let reader = try value.required(key)
        let text = try reader.string()
        guard splitQualified(text) != nil else { throw reader.error("expected namespace/deployment or namespace/pod, found \(YAMLReader.quotedText(text))") }
        return text
    }

    /// `namespace/name` split in two non-empty parts.
    static func splitQualified(_ text: String) -> (namespace: String, name: String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// A fraction written `50%` or `0.5`, within 0...1.
    static func fraction(_ reader: YAMLReader) throws(ManifestError) -> Double {
        if reader.valueType == .string {
            let text = try reader.string()
            let trimmed = text.hasSuffix("%") ? String(text.dropLast()) : ""
            guard !trimmed.isEmpty, let percent = Double(trimmed.filter { $0 != " " }), percent.isFinite else {
                throw reader.error("expected a percentage such as 50% or a fraction such as 0.5, found \(YAMLReader.quotedText(text))")
            }
            guard (0...100).contains(percent) else { throw reader.error("must be between 0% and 100%, found \(text)") }
            return percent / 100
        }
        guard reader.valueType == .integer || reader.valueType == .number else {
            throw reader.error("expected a percentage such as 50% or a fraction such as 0.5, found \(reader.foundDescription)")
        }
        let value = try reader.double()
        guard (0...1).contains(value) else {
            throw reader.error("must be a fraction between 0 and 1 (or a percentage such as 50%), found \(JSONValue.format(value))")
        }
        return value
    }
}

extension YAMLReader {
    /// A string in double quotes with JSON escapes, for messages.
    static func quotedText(_ text: String) -> String {
        JSONValue.string(text).rendered()
    }
}
