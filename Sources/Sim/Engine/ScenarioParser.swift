import MeshControl
import MeshManifest
import MeshModel

/// Reads a scenario file (SCENARIOS.md) into a `Scenario`.
///
/// Strict on purpose: an unknown key is an error (it is most likely a typo that would otherwise be
/// ignored silently), and every error names the file, line, column and field path and says what was
/// expected. Kubernetes YAML embedded in `manifests:` and `apply:` is decoded by `ManifestDecoder`
/// with offsets, so its errors point into the scenario file too.
public enum ScenarioParser {
    static let topLevelKeys = ScenarioKeys.topLevel

    /// Parses a file's bytes: UTF-8 text (`SourceText`: a byte that is not is an error at its line
    /// and column) of at most `ManifestLimits.maxFileBytes`.
    public static func parse(bytes: [UInt8], file: String) throws(ManifestError) -> Scenario {
        try parse(SourceText.decode(bytes, file: file), file: file)
    }

    public static func parse(_ text: String, file: String) throws(ManifestError) -> Scenario {
        // CRLF files: libyaml counts "\r\n" as one break, but Swift sees one Character, which
        // would throw off the line arithmetic for embedded manifests. Carriage returns carry no meaning here.
        let text = text.unicodeScalars.contains("\r") ? String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" })) : text
        let root = try YAMLReader.document(text: text, file: file)
        guard root.isMapping else {
            if root.isNull { throw ManifestError(file: file, line: 1, column: 1, path: "name", message: "missing required field \"name\" (the file is empty)") }
            throw root.typeMismatch(expected: .mapping)
        }
        try root.checkKnownKeys(topLevelKeys)

        var scenario = Scenario(name: try root.string("name"), file: file)
        if scenario.name.isEmpty { throw try root.required("name").error("expected a non-empty name") }
        scenario.description = try root.optionalString("description") ?? ""
        if let seed = try root.optional("seed") {
            scenario.seed = UInt64(try seed.int(in: 0...Int.max))
        }
        scenario.duration = try root.optional("duration").map { reader throws(ManifestError) in try virtualTime(reader) }
        if let mesh = try root.optional("mesh") {
            scenario.mesh = try parseMesh(mesh)
        } else {
            scenario.mesh = MeshSettings(meshConfig: installDefaults())
        }
        if let network = try root.optional("network") {
            scenario.network = try parseNetwork(network)
        }
        var pods = PodTally()
        if let manifests = try root.optional("manifests") {
            let decoded = try decodeEmbedded(manifests)
            try pods.add(decoded)
            scenario.manifests = decoded.map(\.resource)
        }
        if let apps = try root.optional("apps") {
            scenario.apps = try parseApps(apps)
        }
        if let external = try root.optional("external") {
            scenario.externalHosts = try parseExternalHosts(external)
        }
        if let steps = try root.optional("steps") {
            scenario.steps = try parseSteps(steps, scenarioDuration: scenario.duration, pods: &pods)
        }
        if let expect = try root.optional("expect") {
            scenario.expectations = try parseExpectations(expect)
        }
        try crossCheck(scenario, root: root)
        return scenario
    }

    // MARK: - mesh

    /// The MeshConfig `fsm install` creates when no `--set` is given (charts/fsm/values.yaml):
    /// permissive mode and egress on. A scenario that omits a key gets the same as a plain install.
    static func installDefaults() -> MeshConfig {
        var config = MeshConfig()
        config.traffic.enablePermissiveTrafficPolicyMode = true
        config.traffic.enableEgress = true
        return config
    }

    static let meshKeys = ScenarioKeys.mesh
    static let featureFlagKeys = ScenarioKeys.featureFlags

    static func parseMesh(_ mesh: YAMLReader) throws(ManifestError) -> MeshSettings {
        try mesh.checkKnownKeys(meshKeys)
        var config = installDefaults()
        // Both spellings: the Helm value and the MeshConfig field.
        if let permissive = try mesh.optional("enablePermissiveTrafficPolicy") {
            config.traffic.enablePermissiveTrafficPolicyMode = try permissive.bool()
        }
        if let permissive = try mesh.optional("enablePermissiveTrafficPolicyMode") {
            config.traffic.enablePermissiveTrafficPolicyMode = try permissive.bool()
        }
        if let egress = try mesh.optional("enableEgress") {
            config.traffic.enableEgress = try egress.bool()
        }
        if let flags = try mesh.optional("featureFlags") {
            try flags.checkKnownKeys(featureFlagKeys)
            if let v = try flags.optional("enableRetryPolicy") { config.featureFlags.enableRetryPolicy = try v.bool() }
            if let v = try flags.optional("enableEgressPolicy") { config.featureFlags.enableEgressPolicy = try v.bool() }
            if let v = try flags.optional("enableAccessControlPolicy") { config.featureFlags.enableAccessControlPolicy = try v.bool() }
            if let v = try flags.optional("enablePluginPolicy") { config.featureFlags.enablePluginPolicy = try v.bool() }
        }
        var settings = MeshSettings(meshConfig: config)
        if let namespaces = try mesh.optional("namespaces") {
            settings.namespaces = try namespaces.stringList()
        }
        if let delay = try mesh.optional("configDelay") {
            settings.configDelay = try delay.duration()
        }
        if let probe = try mesh.optional("sidecarReadinessProbe") {
            settings.sidecarReadinessProbe = try parseProbe(probe)
        }
        return settings
    }

    /// `{ period, failureThreshold, successThreshold }`, each optional (the kubelet's defaults).
    static func parseProbe(_ probe: YAMLReader) throws(ManifestError) -> ReadinessProbe.Settings {
        guard probe.isMapping else { throw probe.typeMismatch(expected: .mapping) }
        try probe.checkKnownKeys(ScenarioKeys.readinessProbe)
        var settings = ReadinessProbe.Settings.kubelet
        if let period = try probe.optional("period") {
            settings.period = try period.duration()
            guard settings.period.nanoseconds >= 1_000_000 else { throw period.error("must be at least 1ms, found \(settings.period)") }
        }
        settings.failureThreshold = try probe.optional("failureThreshold")?.int(in: 1...1000) ?? settings.failureThreshold
        settings.successThreshold = try probe.optional("successThreshold")?.int(in: 1...1000) ?? settings.successThreshold
        return settings
    }

    // MARK: - network

    static func parseNetwork(_ network: YAMLReader) throws(ManifestError) -> NetworkSettings {
        try network.checkKnownKeys(ScenarioKeys.network)
        var settings = NetworkSettings()
        if let latency = try network.optional("latency") {
            if latency.isMapping {
                try latency.checkKnownKeys(ScenarioKeys.latencyDistribution)
                let p50 = try latency.required("p50").duration()
                let p99Reader = try latency.required("p99")
                let p99 = try p99Reader.duration()
                if p99 < p50 { throw p99Reader.error("p99 (\(p99)) must not be below p50 (\(p50))") }
                settings.latency = p50 == p99 ? .fixed(p50) : .distribution(p50: p50, p99: p99)
            } else {
                settings.latency = .fixed(try latency.duration())
            }
        }
        if let loss = try network.optional("loss") {
            settings.loss = try loss.double(in: 0...1)
        }
        return settings
    }

    // MARK: - apps

    static let appKeys = ScenarioKeys.app

    static func parseApps(_ apps: YAMLReader) throws(ManifestError) -> [String: AppSpec] {
        var result: [String: AppSpec] = [:]
        for (deployment, entry) in try apps.entries() {
            guard entry.isMapping else { throw entry.typeMismatch(expected: .mapping) }
            // Strict like every other key: a misspelt option would otherwise be ignored silently.
            try entry.checkKnownKeys(appKeys)
            let spec = try parseAppSpec(entry)
            if spec.model == .tlsEcho, spec.options["secret"] == nil {
                throw try entry.required("model").error("tls-echo inside the cluster needs secret: namespace/name (the Secret whose certificate it presents)")
            }
            result[deployment] = spec
        }
        return result
    }

    /// The app keys of a mapping (`apps:` entries, `external:` hosts); other keys are the caller's.
    static func parseAppSpec(_ entry: YAMLReader) throws(ManifestError) -> AppSpec {
        let model = try entry.required("model").oneOf(AppSpec.Model.self)
        var spec = AppSpec(model: model)
        for (key, value) in try entry.entries() where appKeys.contains(key) {
            switch key {
            case "model": continue
            case "body": spec.body = try value.scalarText()
            case "serviceTime": spec.serviceTime = try value.duration()
            case "errorRate":
                // `10%` or `0.1`, kept as the decimal text the app model reads.
                spec.options[key] = JSONValue.format(try fraction(value))
            case "secret", "certificateKey":
                guard model == .tlsEcho else { throw value.error("\(key) is tls-echo's certificate; model \(model.rawValue) serves no TLS") }
                let text = try value.string()
                if key == "secret", splitQualified(text) == nil {
                    throw value.error("expected a Secret as namespace/name, found \(YAMLReader.quotedText(text))")
                }
                if text.isEmpty { throw value.error("expected a key of the Secret such as tls.crt") }
                spec.options[key] = text
            default:
                // `status`, `errorStatus`: an HTTP status code.
                spec.options[key] = String(try value.int(in: 100...599))
            }
        }
        return spec
    }

    // MARK: - embedded manifests

    /// Decodes the Kubernetes YAML held in a string value (normally a `|` block scalar) so that
    /// errors point at the right line and column of the scenario file.
    static func decodeEmbedded(_ value: YAMLReader) throws(ManifestError) -> [DecodedResource] {
        let embedded = try value.embeddedText()
        return try ManifestDecoder.decode(embedded.text, file: value.file, lineOffset: embedded.lineOffset,
                                      columnOffset: embedded.columnOffset, defaultNamespace: "default")
    }

    /// A duration of virtual time: at most `ScenarioLimits.maxVirtualTime`.
    static func virtualTime(_ reader: YAMLReader) throws(ManifestError) -> MeshDuration {
        let value = try reader.duration()
        if value > ScenarioLimits.maxVirtualTime {
            throw reader.error("must be at most \(ScenarioLimits.maxVirtualTime) (the simulator's limit of virtual time), found \(value)")
        }
        return value
    }
}
