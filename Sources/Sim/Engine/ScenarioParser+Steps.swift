import MeshControl
import MeshManifest
import MeshModel

extension ScenarioParser {
    static let stepActions = ScenarioKeys.stepActions
    static let loadKeys = ScenarioKeys.load
    static let faultKinds = ScenarioKeys.faults.map(\.kind)

    static func parseSteps(_ steps: YAMLReader, scenarioDuration: MeshDuration?, pods: inout PodTally) throws(ManifestError) -> [Step] {
        var parsed: [Step] = []
        var requests = 0
        for step in try steps.elements() {
            guard step.isMapping else { throw step.typeMismatch(expected: .mapping) }
            try step.checkKnownKeys(ScenarioKeys.step)
            let at = try virtualTime(try step.required("at"))
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
            case "apply":
                let decoded = try decodeEmbedded(value)
                try pods.add(decoded)
                action = .apply(decoded.map(\.resource))
            case "delete": action = .delete(try parseDelete(value))
            case "load":
                let load = try parseLoad(value, scenarioDuration: scenarioDuration)
                requests += expectedRequests(load)
                if requests > ScenarioLimits.maxRequestsPerScenario {
                    throw value.error("this load brings the scenario's requests to \(requests); at most \(ScenarioLimits.maxRequestsPerScenario) (the limit of requests per scenario)")
                }
                action = .load(load)
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
        try value.checkKnownKeys(ScenarioKeys.delete)
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
        guard from == LoadSpec.external || splitQualified(from) != nil else {
            throw fromReader.error("expected namespace/deployment or external, found \(YAMLReader.quotedText(from))")
        }
        let urlReader = try value.required("url")
        let url = try urlReader.string()
        let parsedURL: LoadURL
        do throws(LoadURL.Problem) {
            parsedURL = try LoadURL(parsing: url)
        } catch {
            throw urlReader.error(error.message)
        }
        var load = LoadSpec(name: name, from: from, url: url)
        if let tls = try value.optional("tls") {
            guard parsedURL.scheme == .https else {
                throw tls.error("tls: applies to https:// loads only; the url is \(parsedURL.scheme.rawValue)://")
            }
            load.tls = try parseLoadTLS(tls)
        }
        if let method = try value.optional("method") {
            load.method = try method.oneOf(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], caseInsensitive: true)
        }
        if let headers = try value.optional("headers") {
            var fields: [HTTPHeaderField] = []
            for (header, headerValue) in try headers.entries() {
                fields.append(try headerField(header, headerValue))
            }
            load.headers = fields
        }
        load.requests = try value.optional("requests")?.int(in: 1...ScenarioLimits.maxRequestsPerLoad, limit: "the limit of requests per load")
        load.duration = try value.optional("duration").map { reader throws(ManifestError) in try virtualTime(reader) }
        if let qps = try value.optional("qps") {
            load.qps = try qps.double(in: Double.leastNonzeroMagnitude...ScenarioLimits.maxQPS)
        }
        if let concurrency = try value.optional("concurrency") {
            load.concurrency = try concurrency.int(in: 1...ScenarioLimits.maxConcurrency, limit: "the limit of workers per load")
        }
        load.cookies = try value.optional("cookies")?.bool() ?? false
        if let bodyBytes = try value.optional("bodyBytes") {
            guard parsedURL.scheme == .http || parsedURL.scheme == .https else {
                throw bodyBytes.error("bodyBytes: applies to http:// and https:// loads only; the url is \(parsedURL.scheme.rawValue)://")
            }
            load.bodyBytes = try bodyBytes.int(in: 1...ScenarioLimits.maxBodyBytes, limit: "the limit of a load's request body")
        }
        if load.requests == nil, load.duration == nil, scenarioDuration == nil {
            throw value.error("expected \"requests\" or \"duration\" (or a scenario-level duration): otherwise the load never ends")
        }
        try checkLoadWork(load, value)
        return load
    }

    /// `tls: { sni, caSecret, insecure, clientSecret }`: a server name, Secrets as namespace/name.
    static func parseLoadTLS(_ value: YAMLReader) throws(ManifestError) -> LoadTLS {
        guard value.isMapping else { throw value.typeMismatch(expected: .mapping) }
        try value.checkKnownKeys(ScenarioKeys.loadTLS)
        var tls = LoadTLS()
        if let sni = try value.optional("sni") {
            let name = try sni.string()
            guard isHostName(name) else {
                throw sni.error("expected a DNS name such as foo.example.com (lowercase labels of letters, digits and -), found \(YAMLReader.quotedText(name))")
            }
            tls.sni = name
        }
        for key in ["caSecret", "clientSecret"] {
            guard let reader = try value.optional(key) else { continue }
            let text = try reader.string()
            guard splitQualified(text) != nil else { throw reader.error("expected a Secret as namespace/name, found \(YAMLReader.quotedText(text))") }
            if key == "caSecret" { tls.caSecret = text } else { tls.clientSecret = text }
        }
        tls.insecure = try value.optional("insecure")?.bool() ?? false
        if tls.insecure, tls.caSecret != nil {
            throw try value.required("insecure").error("insecure: true skips verifying the server; give it or caSecret, not both")
        }
        return tls
    }

    /// A header as a load sends it: the name an HTTP token, the value free of control characters
    /// (a CR or LF would end the header and start another: request splitting).
    static func headerField(_ name: String, _ value: YAMLReader, pseudoHeaders: Bool = false) throws(ManifestError) -> HTTPHeaderField {
        let text = try value.scalarText()
        if !(pseudoHeaders && pseudoHeaderNames.contains(name)) { try checkHeaderName(name, of: value) }
        if text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
            throw value.error("a header value must not contain CR, LF or other control characters, found \(YAMLReader.quotedText(text))")
        }
        return HTTPHeaderField(name: name, value: text)
    }

    /// An HTTP token; the error points at the key of `value`.
    static func checkHeaderName(_ name: String, of value: YAMLReader) throws(ManifestError) {
        if name.isEmpty || !name.utf8.allSatisfy(isTokenByte) {
            throw ManifestError(at: value.keyLocation, path: value.path,
                                message: "invalid header name \(YAMLReader.quotedText(name)): expected a token of letters, digits and !#$%&'*+-.^_`|~")
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// How long a load runs by its own keys: its `duration`, or fortio's 5 s when it has neither
    /// `requests` nor `duration` (as the load generator runs it); nil when `requests` alone ends it.
    static func ownDuration(_ load: LoadSpec) -> MeshDuration? {
        load.duration ?? (load.requests == nil ? .seconds(5) : nil)
    }

    /// Requests the load sends: `requests`, or `qps` × its duration; 0 for a closed loop without
    /// `requests` (bounded by worker-seconds instead).
    static func expectedRequests(_ load: LoadSpec) -> Int {
        if let requests = load.requests { return requests }
        guard let qps = load.qps, let duration = ownDuration(load) else { return 0 }
        return Int(min(qps * duration.seconds, Double(Int.max / 2)).rounded(.up))
    }

    /// `27.8h`, `12.5m`, `40s`: a duration for a message, to a tenth of its unit.
    static func roughly(seconds: Double) -> String {
        let (value, unit) = seconds >= 3600 ? (seconds / 3600, "h") : (seconds >= 60 ? (seconds / 60, "m") : (seconds, "s"))
        return JSONValue.format((value * 10).rounded() / 10) + unit
    }

    /// The bounds that involve two keys of a load: an open loop's `requests` / `qps` within the
    /// virtual-time limit, its `qps` × `duration` within the requests per load, a closed loop's
    /// `concurrency` × `duration` within the worker-seconds.
    static func checkLoadWork(_ load: LoadSpec, _ value: YAMLReader) throws(ManifestError) {
        let hour = ScenarioLimits.maxVirtualTime.seconds
        if let qps = load.qps, let requests = load.requests, Double(requests) / qps > hour {
            throw try value.required("qps").error("\(requests) requests at qps \(JSONValue.format(qps)) take \(roughly(seconds: Double(requests) / qps)); the simulator stops at \(ScenarioLimits.maxVirtualTime) of virtual time (raise qps or lower requests)")
        }
        if let qps = load.qps, load.requests == nil, let duration = ownDuration(load), expectedRequests(load) > ScenarioLimits.maxRequestsPerLoad {
            throw try value.required("qps").error("qps \(JSONValue.format(qps)) for \(duration) is \(expectedRequests(load)) requests; at most \(ScenarioLimits.maxRequestsPerLoad) (the limit of requests per load)")
        }
        if load.qps == nil, load.requests == nil, let duration = ownDuration(load) {
            let workerSeconds = Double(load.concurrency) * duration.seconds
            if workerSeconds > ScenarioLimits.maxClosedLoopWorkerSeconds {
                var at = try value.optional("concurrency")
                if at == nil { at = try value.required("duration") }
                throw (at ?? value).error("a closed loop of \(load.concurrency) workers for \(duration) is \(JSONValue.format(workerSeconds)) worker-seconds; at most \(JSONValue.format(ScenarioLimits.maxClosedLoopWorkerSeconds)) (give requests or qps to send more)")
            }
        }
    }

    static func parseFault(_ value: YAMLReader) throws(ManifestError) -> FaultSpec {
        guard value.isMapping else { throw value.typeMismatch(expected: .mapping) }
        let kind = try value.required("kind").oneOf(faultKinds)
        switch kind {
        case "kill-pod":
            try value.checkKnownKeys(ScenarioKeys.fault(kind))
            return .killPod(target: try target(value, "target"), restartAfter: try value.optional("restartAfter")?.duration())
        case "sidecar-crash":
            try value.checkKnownKeys(ScenarioKeys.fault(kind))
            let restartAfter = try value.optional("restartAfter")?.duration() ?? CrashLoopBackoff.Settings.kubelet.base
            return .sidecarCrash(target: try target(value, "target"), restartAfter: restartAfter)
        case "partition":
            try value.checkKnownKeys(ScenarioKeys.fault(kind))
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
            try value.checkKnownKeys(ScenarioKeys.fault(kind))
            return .latency(target: try target(value, "target"), add: try value.required("add").duration(), duration: try value.optional("duration")?.duration())
        default:
            try value.checkKnownKeys(ScenarioKeys.fault(kind))
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
