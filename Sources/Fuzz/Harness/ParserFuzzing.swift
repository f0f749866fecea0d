import MeshControl
import MeshManifest
import MeshModel
import MeshProxy
import SimCore

/// The entry functions of the parser fuzz targets. Each reads its input as the product reads a
/// file or a response (UTF-8 text; invalid bytes become U+FFFD as `String(decoding:)` makes them)
/// and checks what a user would rely on besides not crashing: an error is one line naming a real
/// position, and what the product writes reads back the same.
public enum ParserFuzzing {
    /// The name errors must carry.
    static let file = "fuzz.yaml"

    /// A scenario file, parsed as `sim` parses it.
    public static func scenario(_ data: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let text = String(decoding: data, as: UTF8.self)
        do {
            _ = try ScenarioParser.parse(text, file: file)
        } catch {
            try check(error, in: text)
        }
    }

    /// A manifest file, decoded as `fsm controller` and `fsm up` decode a manifest directory. What
    /// decodes goes on through the controller as the manifest directory's would: every meshed
    /// pod's config must read back as it was written and be accepted by a sidecar engine.
    public static func manifest(_ data: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let text = String(decoding: data, as: UTF8.self)
        let decoded: [DecodedResource]
        do {
            decoded = try ManifestDecoder.decode(text, file: file)
        } catch {
            try check(error, in: text)
            return
        }
        try control(decoded.map(\.resource))
    }

    /// A controller response: JSON read as the sidecar reads it (`ControllerConfigClient`), then
    /// applied to an engine. The JSON writer's output must read back to the same text, and a
    /// decoded config must survive a write and a read unchanged.
    public static func proxyConfigJSON(_ data: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let text = String(decoding: data, as: UTF8.self)
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            guard (0...text.utf8.count).contains(error.offset) else { throw FuzzFinding("JSON error offset \(error.offset) outside the text (\(text.utf8.count) bytes)") }
            try checkOneLine(error.description)
            return
        }
        let rendered = value.rendered()
        guard let again = try? JSONValue(parsing: rendered), again.rendered() == rendered else {
            throw FuzzFinding("JSON written by JSONValue.rendered() does not read back to itself: \(rendered.prefix(200))")
        }
        let config: ProxyConfig
        do {
            config = try ProxyConfig(jsonValue: value)
        } catch {
            try checkOneLine(error.description)
            return
        }
        try checkRoundTrip(config)
        var engine = Sidecar()
        _ = engine.apply(config)
    }

    // MARK: - Checks

    /// Runs decoded resources through a local cluster and the controller (all their namespaces in
    /// the mesh), then checks every meshed pod's config.
    static func control(_ resources: [Resource]) throws(FuzzFinding) {
        for (pod, config) in try meshedConfigs(resources, meshNamespaces: Set(resources.map(\.key.namespace))) {
            try checkRoundTrip(config)
            var engine = Sidecar()
            if case .rejected(let reason) = engine.apply(config) {
                throw FuzzFinding("the engine rejects the controller's config for \(pod): \(reason)")
            }
        }
    }

    /// The controller's config for every meshed pod of a cluster built from `resources`.
    static func meshedConfigs(_ resources: [Resource], meshConfig: MeshConfig = MeshConfig(),
                              meshNamespaces: Set<String>) throws(FuzzFinding) -> [(pod: PodKey, config: ProxyConfig)] {
        var cluster = LocalCluster(meshNamespaces: meshNamespaces)
        var controller = MeshController(meshConfig: meshConfig)
        _ = controller.apply(cluster.replace(with: resources))
        var configs: [(pod: PodKey, config: ProxyConfig)] = []
        for pod in controller.meshedPods {
            guard let config = controller.config(for: pod) else { throw FuzzFinding("meshed pod \(pod) has no config") }
            configs.append((pod, config))
        }
        return configs
    }

    /// The configs of a scenario's pods as the controller makes them from its manifests (seeds of
    /// the JSON target).
    static func meshedConfigs(scenario bytes: [UInt8]) throws -> [(pod: PodKey, config: ProxyConfig)] {
        let scenario = try ScenarioParser.parse(String(decoding: bytes, as: UTF8.self), file: file)
        return try meshedConfigs(scenario.manifests, meshConfig: scenario.mesh.meshConfig, meshNamespaces: Set(scenario.mesh.namespaces))
    }

    static func checkRoundTrip(_ config: ProxyConfig) throws(FuzzFinding) {
        let json = config.renderedJSON()
        let back: ProxyConfig
        do {
            back = try ProxyConfig(jsonText: json)
        } catch {
            throw FuzzFinding("a config's own JSON does not decode (\(error)): \(json.prefix(300))")
        }
        guard back == config else { throw FuzzFinding("a config changes through its JSON: \(json.prefix(300))") }
    }

    /// A `ManifestError` names this file, a line of it (or 0: unknown) and says something, on one line.
    static func check(_ error: ManifestError, in text: String) throws(FuzzFinding) {
        guard error.file == file else { throw FuzzFinding("error names file \(error.file): \(error)") }
        // Every line break libyaml knows (LF, CR, NEL, LS, PS) may start a line.
        let breaks = text.unicodeScalars.count { "\n\r\u{85}\u{2028}\u{2029}".unicodeScalars.contains($0) }
        guard (0...breaks + 1).contains(error.line), error.column >= 0 else {
            throw FuzzFinding("error position \(error.line):\(error.column) outside the text (\(breaks + 1) lines): \(error)")
        }
        guard !error.message.isEmpty else { throw FuzzFinding("empty error message: \(error)") }
        try checkOneLine(error.description)
    }

    static func checkOneLine(_ message: String) throws(FuzzFinding) {
        if message.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw FuzzFinding("error message spans lines: \(message.debugDescription)")
        }
    }
}
