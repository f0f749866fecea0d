import MeshModel

/// The values of `fsm install --set key=value[,key=value]...`: the guides' chart keys (`fsm.*`,
/// F1-011..F1-063, inventory §25.4) with their defaults. An unknown key is an error naming the
/// nearest known one; a key whose feature this mesh does not build accepts only its default.
public struct InstallValues: Sendable {
    private var values: [String: JSONValue]

    /// Every value at its default.
    public init() {
        values = Dictionary(uniqueKeysWithValues: Self.table.map { ($0.key, $0.defaultValue) })
    }

    public subscript(key: String) -> JSONValue {
        guard let value = values[key] else { preconditionFailure("install value \(key) is not in InstallValues.table") }
        return value
    }

    public func bool(_ key: String) -> Bool { if case .bool(let b) = self[key] { b } else { false } }
    public func string(_ key: String) -> String { if case .string(let s) = self[key] { s } else { "" } }
    public func int(_ key: String) -> Int { if case .int(let i) = self[key] { Int(i) } else { 0 } }

    /// Applies one `--set` argument: comma-separated `key=value` pairs (commas inside `{}` or `[]`
    /// belong to a list). The first bad pair fails the whole argument, naming it.
    public mutating func set(_ argument: String) throws(InstallError) {
        try set(argument, allowingNotBuilt: false)
    }

    /// `set`, where `allowingNotBuilt` lets tests render what a `notBuilt` key would add.
    mutating func set(_ argument: String, allowingNotBuilt: Bool) throws(InstallError) {
        for pair in Self.splitPairs(argument) {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw InstallError("--set \(pair): expected key=value")
            }
            let key = String(pair[..<equals])
            let text = String(pair[pair.index(after: equals)...])
            guard let entry = Self.table.first(where: { $0.key == key }) else {
                let hint = NearestName.suggestion(for: key, among: Self.table.map(\.key)).map { "; did you mean \"\($0)\"?" } ?? "; `fsm install --help` lists the keys"
                throw InstallError("--set \(pair): unknown key \"\(key)\"\(hint)")
            }
            let value: JSONValue
            switch entry.parse(text) {
            case .success(let parsed): value = parsed
            case .failure(let error): throw InstallError("--set \(pair): \(error.message)")
            }
            if let reason = entry.notBuilt, value != entry.defaultValue, !allowingNotBuilt {
                throw InstallError("--set \(pair): \(reason)")
            }
            values[key] = value
        }
    }

    /// `a=1,b={x,y},c=[1,2]` → `a=1`, `b={x,y}`, `c=[1,2]`.
    static func splitPairs(_ argument: String) -> [Substring] {
        var pairs: [Substring] = []
        var depth = 0
        var start = argument.startIndex
        for index in argument.indices {
            switch argument[index] {
            case "{", "[": depth += 1
            case "}", "]": depth = max(0, depth - 1)
            case "," where depth == 0:
                pairs.append(argument[start..<index])
                start = argument.index(after: index)
            default: break
            }
        }
        pairs.append(argument[start...])
        return pairs.filter { !$0.isEmpty }
    }
}

extension InstallValues {
    /// Every key, in the order `fsm install --help` lists them.
    public static let table: [InstallValue] = meshConfigKeys + componentKeys + notBuiltKeys

    static let logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"]
    static let quantity = InstallValue.ValueType.quantity

    /// Keys that land in the MeshConfig `fsm-mesh-config` (its defaults are the model's, F1-032).
    static let meshConfigKeys: [InstallValue] = {
        let defaults = MeshConfig(metadata: ObjectMeta(name: "fsm-mesh-config"))
        return [
            InstallValue("fsm.enablePermissiveTrafficPolicy", .boolean, .bool(defaults.traffic.enablePermissiveTrafficPolicyMode)),
            InstallValue("fsm.enableEgress", .boolean, .bool(defaults.traffic.enableEgress)),
            InstallValue("fsm.trafficInterceptionMode", .oneOf(["iptables", "ebpf"]), .string("iptables")),
            InstallValue("fsm.outboundIPRangeExclusionList", .cidrList, .array([])),
            InstallValue("fsm.outboundIPRangeInclusionList", .cidrList, .array([])),
            InstallValue("fsm.outboundPortExclusionList", .portList, .array([])),
            InstallValue("fsm.inboundPortExclusionList", .portList, .array([])),
            InstallValue("fsm.sidecarLogLevel", .oneOf(logLevels), .string(defaults.sidecar.logLevel)),
            InstallValue("fsm.enablePrivilegedInitContainer", .boolean, .bool(defaults.sidecar.enablePrivilegedInitContainer)),
            InstallValue("fsm.maxDataPlaneConnections", .integer(0...1_000_000), .int(defaults.sidecar.maxDataPlaneConnections)),
            InstallValue("fsm.configResyncInterval", .duration, .string(defaults.sidecar.configResyncInterval.description)),
            InstallValue("fsm.controllerLogLevel", .oneOf(logLevels), .string("info")),
            InstallValue("fsm.enableDebugServer", .boolean, .bool(defaults.observability.enableDebugServer)),
            InstallValue("fsm.tracing.enable", .boolean, .bool(defaults.observability.tracing.enable)),
            InstallValue("fsm.tracing.address", .string, .string("")),
            InstallValue("fsm.tracing.port", .integer(1...65535), .int(defaults.observability.tracing.port)),
            InstallValue("fsm.tracing.endpoint", .string, .string(defaults.observability.tracing.endpoint)),
            InstallValue("fsm.certificateProvider.serviceCertValidityDuration", .duration,
                         .string(defaults.certificate.serviceCertValidityDuration.description)),
            InstallValue("fsm.featureFlags.enableEgressPolicy", .boolean, .bool(defaults.featureFlags.enableEgressPolicy)),
            InstallValue("fsm.featureFlags.enableAccessControlPolicy", .boolean, .bool(defaults.featureFlags.enableAccessControlPolicy)),
            InstallValue("fsm.featureFlags.enableRetryPolicy", .boolean, .bool(defaults.featureFlags.enableRetryPolicy)),
            InstallValue("fsm.featureFlags.enablePluginPolicy", .boolean, .bool(defaults.featureFlags.enablePluginPolicy)),
            InstallValue("fsm.featureFlags.enableAccessCertPolicy", .boolean, .bool(defaults.featureFlags.enableAccessCertPolicy)),
        ]
    }()

    /// Keys of the control plane's own Deployments and image.
    static let componentKeys: [InstallValue] = [
        InstallValue("fsm.image.registry", .string, .string("localhost")),
        InstallValue("fsm.image.name", .string, .string("fsm-swift")),
        InstallValue("fsm.image.tag", .string, .string(MeshVersion.current)),
        InstallValue("fsm.image.pullPolicy", .oneOf(["Always", "IfNotPresent", "Never"]), .string("IfNotPresent")),
        InstallValue("fsm.fsmController.replicaCount", .integer(1...10), .int(1)),
        InstallValue("fsm.fsmController.resource.requests.cpu", quantity, .string("100m")),
        InstallValue("fsm.fsmController.resource.requests.memory", quantity, .string("128Mi")),
        InstallValue("fsm.fsmController.resource.limits.cpu", quantity, .string("1")),
        InstallValue("fsm.fsmController.resource.limits.memory", quantity, .string("512Mi")),
        InstallValue("fsm.fsmInjector.replicaCount", .integer(1...10), .int(1)),
        InstallValue("fsm.fsmInjector.resource.requests.cpu", quantity, .string("50m")),
        InstallValue("fsm.fsmInjector.resource.requests.memory", quantity, .string("64Mi")),
        InstallValue("fsm.fsmInjector.resource.limits.cpu", quantity, .string("500m")),
        InstallValue("fsm.fsmInjector.resource.limits.memory", quantity, .string("256Mi")),
        InstallValue("fsm.injector.webhookTimeoutSeconds", .integer(1...30), .int(10)),
        // With fsm.trafficInterceptionMode=ebpf: the interceptor DaemonSet (F1-063).
        InstallValue("fsm.fsmInterceptor.debug", .boolean, .bool(false)),
        InstallValue("fsm.fsmInterceptor.resource.requests.cpu", quantity, .string("50m")),
        InstallValue("fsm.fsmInterceptor.resource.requests.memory", quantity, .string("64Mi")),
        InstallValue("fsm.fsmInterceptor.resource.limits.cpu", quantity, .string("500m")),
        InstallValue("fsm.fsmInterceptor.resource.limits.memory", quantity, .string("256Mi")),
        // FSM Gateway and FSM's ingress controller (F2-003, F2-010): the controller watches their
        // kinds and deploys their pods (`fsm controller --gateway/--ingress`).
        InstallValue("fsm.fsmGateway.enabled", .boolean, .bool(false)),
        InstallValue("fsm.fsmIngress.enabled", .boolean, .bool(false)),
    ]

    /// The guides' keys for parts this mesh does not build: accepted at their default only.
    static let notBuiltKeys: [InstallValue] = [
        InstallValue("fsm.deployPrometheus", .boolean, .bool(false), notBuilt: "no Prometheus is deployed by fsm install; scrape the pods' 15010 /stats/prometheus with your own"),
        InstallValue("fsm.deployGrafana", .boolean, .bool(false), notBuilt: "no Grafana is deployed by fsm install"),
        InstallValue("fsm.deployJaeger", .boolean, .bool(false), notBuilt: "no Jaeger is deployed by fsm install"),
        InstallValue("fsm.enableFluentbit", .boolean, .bool(false), notBuilt: "no Fluent Bit sidecar is built"),
        InstallValue("fsm.enableReconciler", .boolean, .bool(false), notBuilt: "the reconciler (F1-033) is not built"),
        InstallValue("fsm.pspEnabled", .boolean, .bool(false), notBuilt: "PodSecurityPolicy was removed from Kubernetes in 1.25"),
        InstallValue("fsm.certificateProvider.kind", .oneOf(["tresor", "vault", "cert-manager"]), .string("tresor"),
                     notBuilt: "only the built-in CA (tresor) is built; Vault and cert-manager are not"),
    ]
}
