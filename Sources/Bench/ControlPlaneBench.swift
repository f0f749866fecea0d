import MeshControl
import MeshModel

/// One measured case of the control-plane benchmark.
struct ControlPlaneResult {
    var mode: ClusterGenerator.Mode
    var services: Int
    var pods: Int
    var proxies: Int
    var distinctConfigs: Int
    var applySeconds: Double
    var fetchSeconds: Double
    var renderSeconds: Double
    /// Rendering was timed on a sample of the distinct configs and scaled up.
    var renderExtrapolated: Bool
    var endpointChangeMs: Double
    var endpointRecomputed: Int
    var endpointChanged: Int
    var policyChangeMs: Double
    var policyRecomputed: Int
    var policyChanged: Int
    var meanConfigBytes: Double
    var maxConfigBytes: Int
    var peakRSSBytes: Int
    var verified: Bool?

    var fullSeconds: Double { applySeconds + fetchSeconds + renderSeconds }

    static let header = [
        "mode", "services", "pods", "proxies", "distinct configs", "full generation s", "(apply s", "fetch s", "render s)",
        "endpoint change ms", "(recomputed/changed)", "policy change ms", "(recomputed/changed)",
        "mean config bytes", "max config bytes", "peak RSS MiB", "verified",
    ]

    var cells: [String] {
        [
            mode.rawValue, String(services), String(pods), String(proxies), String(distinctConfigs),
            (renderExtrapolated ? "~" : "") + fixed(fullSeconds, 3), fixed(applySeconds, 3), fixed(fetchSeconds, 3),
            (renderExtrapolated ? "~" : "") + fixed(renderSeconds, 3),
            fixed(endpointChangeMs, 2), "\(endpointRecomputed)/\(endpointChanged)",
            fixed(policyChangeMs, 2), "\(policyRecomputed)/\(policyChanged)",
            fixed(meanConfigBytes, 0), String(maxConfigBytes), fixed(Double(peakRSSBytes) / 1_048_576, 0),
            verified.map { $0 ? "yes" : "NO" } ?? "-",
        ]
    }

    /// One tab-separated line, for a parent process to read back.
    var row: String {
        [mode.rawValue, String(services), String(pods), String(proxies), String(distinctConfigs),
         String(applySeconds), String(fetchSeconds), String(renderSeconds), renderExtrapolated ? "1" : "0", String(endpointChangeMs), String(endpointRecomputed), String(endpointChanged),
         String(policyChangeMs), String(policyRecomputed), String(policyChanged), String(meanConfigBytes), String(maxConfigBytes),
         String(peakRSSBytes), verified.map { $0 ? "1" : "0" } ?? "-"].joined(separator: "\t")
    }

    init?(row: Substring) {
        let f = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 19, let mode = ClusterGenerator.Mode(rawValue: f[0]),
              let services = Int(f[1]), let pods = Int(f[2]), let proxies = Int(f[3]), let distinct = Int(f[4]),
              let apply = Double(f[5]), let fetch = Double(f[6]), let render = Double(f[7]), let endpointMs = Double(f[9]),
              let endpointRecomputed = Int(f[10]), let endpointChanged = Int(f[11]), let policyMs = Double(f[12]),
              let policyRecomputed = Int(f[13]), let policyChanged = Int(f[14]),
              let mean = Double(f[15]), let max = Int(f[16]), let rss = Int(f[17]) else { return nil }
        self.init(mode: mode, services: services, pods: pods, proxies: proxies, distinctConfigs: distinct, applySeconds: apply,
                  fetchSeconds: fetch, renderSeconds: render, renderExtrapolated: f[8] == "1", endpointChangeMs: endpointMs, endpointRecomputed: endpointRecomputed, endpointChanged: endpointChanged,
                  policyChangeMs: policyMs, policyRecomputed: policyRecomputed, policyChanged: policyChanged, meanConfigBytes: mean,
                  maxConfigBytes: max, peakRSSBytes: rss, verified: f[18] == "-" ? nil : f[18] == "1")
    }

    init(mode: ClusterGenerator.Mode, services: Int, pods: Int, proxies: Int, distinctConfigs: Int, applySeconds: Double, fetchSeconds: Double,
         renderSeconds: Double, renderExtrapolated: Bool,
         endpointChangeMs: Double, endpointRecomputed: Int, endpointChanged: Int, policyChangeMs: Double, policyRecomputed: Int,
         policyChanged: Int, meanConfigBytes: Double, maxConfigBytes: Int, peakRSSBytes: Int, verified: Bool?) {
        self.mode = mode
        self.services = services
        self.pods = pods
        self.proxies = proxies
        self.distinctConfigs = distinctConfigs
        self.applySeconds = applySeconds
        self.fetchSeconds = fetchSeconds
        self.renderSeconds = renderSeconds
        self.renderExtrapolated = renderExtrapolated
        self.endpointChangeMs = endpointChangeMs
        self.endpointRecomputed = endpointRecomputed
        self.endpointChanged = endpointChanged
        self.policyChangeMs = policyChangeMs
        self.policyRecomputed = policyRecomputed
        self.policyChanged = policyChanged
        self.meanConfigBytes = meanConfigBytes
        self.maxConfigBytes = maxConfigBytes
        self.peakRSSBytes = peakRSSBytes
        self.verified = verified
    }
}

func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard decimals > 0 else { return String(scaled) }
    let whole = scaled / Int(scale)
    var fraction = String(abs(scaled) % Int(scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    return "\(whole).\(fraction)"
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// FNV-1a 64 over bytes, for comparing the output of two builds (`--digest`).
struct Digest {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ text: String) {
        for byte in text.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        value = (value ^ 0xff) &* 0x0000_0100_0000_01b3
    }
}

/// Every meshed pod with its config version, in pod order.
func versionDigest(_ controller: MeshController) -> String {
    var digest = Digest()
    for pod in controller.meshedPods {
        digest.add(pod.description)
        digest.add(controller.config(for: pod)?.version ?? "-")
    }
    digest.add(controller.diagnostics.map(\.text).joined(separator: "\n"))
    return String(digest.value, radix: 16)
}

/// The rendered JSON of each distinct config, in pod order of first appearance, until `budget` bytes.
func jsonDigest(_ controller: MeshController, budget: Int?) -> String {
    var digest = Digest()
    var seen = Set<String>()
    var bytes = 0
    for pod in controller.meshedPods {
        guard let config = controller.config(for: pod), seen.insert(config.version).inserted else { continue }
        if let budget, bytes >= budget { break }
        let json = config.renderedJSON()
        bytes += json.utf8.count
        digest.add(json)
    }
    return "\(String(digest.value, radix: 16)) (\(seen.count) configs, \(bytes) bytes)"
}

/// Runs one case in this process.
enum ControlPlaneBench {
    /// Full generation = one `apply` of everything + `config(for:)` of every meshed pod + rendering.
    /// Rendering: each distinct version once (pods sharing a version would be sent the same bytes),
    /// until `renderBudget` bytes are rendered (time scaled up when more remain); `renderEachPod` renders every
    /// pod's config instead.
    static func run(_ generator: ClusterGenerator, renderEachPod: Bool, renderBudget: Int?, endpointRounds: Int, verify: Bool,
                    digest: Bool = false, progress: (String) -> Void) -> ControlPlaneResult {
        let clock = ContinuousClock()
        let resources = generator.resources()
        var controller = MeshController(meshConfig: generator.meshConfig)

        progress("apply \(resources.count) resources")
        var start = clock.now
        let initial = controller.apply(resources)
        let applySeconds = (clock.now - start).seconds

        progress("fetch \(initial.changed.count) configs")
        start = clock.now
        let pods = controller.meshedPods
        // Configs are not kept: holding every one would measure the bench's memory, not the controller's.
        var versions: [String] = []
        var seen = Set<String>()
        var firstSeen: [(version: String, pod: PodKey)] = []
        for pod in pods {
            guard let config = controller.config(for: pod) else { continue }
            versions.append(config.version)
            if seen.insert(config.version).inserted { firstSeen.append((config.version, pod)) }
        }
        let fetchSeconds = (clock.now - start).seconds
        if digest { progress("digest after full generation: \(versionDigest(controller))") }

        // Render every distinct config (or, above `renderLimit`, the first ones by pod order and
        // extrapolate the time); pods sharing a version would be sent the same bytes.
        progress("render up to \(renderBudget.map { "\($0 >> 20) MiB of" } ?? "all") \(firstSeen.count) distinct configs\(renderEachPod ? ", then every pod's" : "")")
        start = clock.now
        var bytesByVersion: [String: Int] = [:]
        var renderedBytes = 0
        for (version, pod) in firstSeen {
            if let renderBudget, renderedBytes >= renderBudget { break }
            let bytes = controller.config(for: pod)?.renderedJSON().utf8.count ?? 0
            bytesByVersion[version] = bytes
            renderedBytes += bytes
        }
        var renderSeconds = (clock.now - start).seconds
        let extrapolated = bytesByVersion.count < firstSeen.count
        if extrapolated { renderSeconds *= Double(firstSeen.count) / Double(max(1, bytesByVersion.count)) }
        if renderEachPod {
            start = clock.now
            for pod in pods { _ = controller.config(for: pod)?.renderedJSON().utf8.count }
            renderSeconds = (clock.now - start).seconds
        }
        var totalBytes = 0
        var maxBytes = 0
        var counted = 0
        for version in versions {
            guard let bytes = bytesByVersion[version] else { continue }
            totalBytes += bytes
            maxBytes = max(maxBytes, bytes)
            counted += 1
        }

        // The median of several rounds (a new IP each round): one apply is a few milliseconds.
        progress("endpoint change x \(endpointRounds)")
        var endpointChange = generator.endpointChange()
        var endpointUpdate = ControllerUpdate()
        var roundMs: [Double] = []
        for round in 0..<endpointRounds {
            endpointChange = generator.endpointChange(round: round)
            start = clock.now
            endpointUpdate = controller.apply([endpointChange])
            roundMs.append((clock.now - start).seconds * 1000)
        }
        let endpointMs = roundMs.sorted()[roundMs.count / 2]

        progress("policy change")
        let policyChange = generator.policyChange()
        start = clock.now
        let policyUpdate = controller.apply([policyChange])
        let policyMs = (clock.now - start).seconds * 1000

        if digest {
            progress("digest after the changes: \(versionDigest(controller))")
            progress("digest of the JSON of distinct configs (up to the render budget): \(jsonDigest(controller, budget: renderBudget))")
        }

        var verified: Bool?
        if verify {
            progress("verify against a from-scratch controller")
            var fresh = MeshController(meshConfig: generator.meshConfig)
            _ = fresh.apply(resources + [endpointChange, policyChange])
            verified = fresh.meshedPods == controller.meshedPods
                && fresh.meshedPods.allSatisfy { fresh.config(for: $0) == controller.config(for: $0) }
                && fresh.diagnostics == controller.diagnostics
        }

        return ControlPlaneResult(
            mode: generator.mode, services: generator.services,
            pods: generator.services * generator.podsPerService + generator.namespaceCount * ClusterGenerator.clientsPerNamespace,
            proxies: pods.count, distinctConfigs: firstSeen.count, applySeconds: applySeconds, fetchSeconds: fetchSeconds,
            renderSeconds: renderSeconds, renderExtrapolated: extrapolated,
            endpointChangeMs: endpointMs, endpointRecomputed: endpointUpdate.recomputed, endpointChanged: endpointUpdate.changed.count,
            policyChangeMs: policyMs, policyRecomputed: policyUpdate.recomputed, policyChanged: policyUpdate.changed.count,
            meanConfigBytes: counted == 0 ? 0 : Double(totalBytes) / Double(counted), maxConfigBytes: maxBytes,
            peakRSSBytes: peakRSS(), verified: verified
        )
    }
}
