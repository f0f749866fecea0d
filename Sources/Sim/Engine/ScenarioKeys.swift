/// Every key a scenario file may hold, section by section: the tables `ScenarioParser` checks
/// each mapping against (an unknown key is an error naming the nearest known one), public so that
/// docs/SCENARIOS.md can be kept complete against them (ScenarioReferenceTests).
public enum ScenarioKeys {
    public static let topLevel = ["name", "description", "seed", "duration", "mesh", "network", "manifests", "apps", "external", "steps", "expect"]
    public static let mesh = ["enablePermissiveTrafficPolicy", "enablePermissiveTrafficPolicyMode", "enableEgress", "featureFlags", "namespaces", "configDelay",
                              "sidecarReadinessProbe"]
    public static let featureFlags = ["enableRetryPolicy", "enableEgressPolicy", "enableAccessControlPolicy", "enablePluginPolicy"]
    public static let readinessProbe = ["period", "failureThreshold", "successThreshold"]
    public static let network = ["latency", "loss"]
    public static let latencyDistribution = ["p50", "p99"]
    /// Keys of an `apps:` entry: the model, the options every model understands (AppBehavior), then
    /// tls-echo's certificate (`secret`, `certificateKey`).
    public static let app = ["model", "body", "serviceTime", "status", "errorRate", "errorStatus", "secret", "certificateKey"]
    /// Keys of an `external:` entry: where the host is, then what it serves (an app's keys).
    public static let externalHost = ["host", "ip", "ports"] + app
    public static let stepActions = ["apply", "delete", "load", "fault"]
    public static let step = ["at"] + stepActions
    public static let delete = ["kind", "namespace", "name"]
    public static let load = ["name", "from", "url", "method", "headers", "requests", "duration", "qps", "concurrency", "cookies", "tls", "bodyBytes"]
    public static let loadTLS = ["sni", "caSecret", "insecure", "clientSecret"]
    /// Each fault kind with the keys it takes (`kind` included).
    public static let faults: [(kind: String, keys: [String])] = [
        ("kill-pod", ["kind", "target", "restartAfter"]),
        ("sidecar-crash", ["kind", "target", "restartAfter"]),
        ("partition", ["kind", "between", "duration"]),
        ("latency", ["kind", "target", "add", "duration"]),
        ("error", ["kind", "target", "status", "rate", "duration"]),
    ]
    /// The check an `expect:` entry makes is named by the one of these keys it holds.
    public static let expectChecks = ["status", "grpcStatus", "backends", "bodies", "received", "latency", "counter", "responseFlags", "headers", "bodyContains", "upstreamHeaders", "trace"]
    /// Each form of check with the keys it takes (`counter` has two: of a proxy, of an app).
    public static let expectations: [(check: String, keys: [String])] = [
        ("status", ["load", "status"]),
        ("grpcStatus", ["load", "grpcStatus"]),
        ("backends", ["load", "backends", "tolerance"]),
        ("bodies", ["load", "bodies", "tolerance"]),
        ("received", ["app", "received"]),
        ("latency", ["load", "latency"]),
        ("counter", ["proxy", "counter", "value"]),
        ("counter", ["app", "counter", "value"]),
        ("responseFlags", ["load", "responseFlags"]),
        ("headers", ["load", "headers"]),
        ("bodyContains", ["load", "bodyContains"]),
        ("upstreamHeaders", ["load", "upstreamHeaders"]),
        ("trace", ["trace", "services"]),
    ]
    public static let percentiles = ["p50", "p90", "p99", "p999", "max"]

    /// The keys a fault kind takes.
    static func fault(_ kind: String) -> [String] { faults.first { $0.kind == kind }?.keys ?? ["kind"] }

    /// The keys of an expectation of `check` (for `counter`, the one whose subject is `subject`).
    static func expectation(_ check: String, subject: String? = nil) -> [String] {
        expectations.first { entry in entry.check == check && subject.map { entry.keys.contains($0) } != false }?.keys ?? []
    }

    /// Every key, with the section it belongs to (`mesh`, `steps[].load`, `fault kill-pod`, ...).
    public static var all: [(section: String, key: String)] {
        var sections: [(String, [String])] = [
            ("top level", topLevel), ("mesh", mesh), ("mesh.featureFlags", featureFlags), ("mesh.sidecarReadinessProbe", readinessProbe),
            ("network", network), ("network.latency", latencyDistribution), ("apps", app), ("external", externalHost), ("steps[]", step), ("steps[].delete", delete),
            ("steps[].load", load), ("steps[].load.tls", loadTLS), ("expect latency", percentiles),
        ]
        sections += faults.map { ("fault \($0.kind)", $0.keys) }
        sections += expectations.map { ("expect \($0.check)", $0.keys) }
        return sections.flatMap { section, keys in keys.map { (section: section, key: $0) } }
    }
}
