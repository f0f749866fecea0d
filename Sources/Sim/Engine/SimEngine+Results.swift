import Histogram
import MeshControl
import MeshModel
import MeshProxy

extension SimEngine {
    func result() -> SimulationResult {
        SimulationResult(
            scenario: scenario, seed: seed, virtualTime: MeshDuration(nanoseconds: now),
            loads: loads.map(loadResult), apps: appResults(), proxies: proxyResults(),
            events: eventLog, eventsProcessed: eventsProcessed, stopped: stopped, traces: traceSummary())
    }

    private func loadResult(_ load: LoadState) -> LoadResult {
        let status = load.statusCounts.sorted { $0.key < $1.key }.map { (code: $0.key, count: $0.value) }
        var byName: [String: Int] = [:]
        for (deployment, count) in load.backendCounts { byName[deployments[deployment].name, default: 0] += count }
        let backends = byName.sorted { $0.key < $1.key }.map { (deployment: $0.key, count: $0.value) }
        var latency = LatencySummary()
        if load.completed > 0 {
            func ms(_ percentile: Double) -> Double { Double(load.histogram.valueAtPercentile(percentile)) / 1000 }
            latency = LatencySummary(p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: Double(load.maxLatency) / 1e6)
        }
        // One bucket per second, coarser for runs over ten minutes (at most ~600 buckets).
        let second: Int64 = 1_000_000_000
        let widthSeconds = max(1, Int((now + 600 * second - 1) / (600 * second)))
        var statusByBucket: [Int: [Int: Int]] = [:]
        var backendByBucket: [Int: [String: Int]] = [:]
        var lastBucket = -1
        for (key, count) in load.statusBuckets {
            let bucket = (key >> 20) / widthSeconds
            statusByBucket[bucket, default: [:]][key & 0xFFFFF, default: 0] += count
            lastBucket = max(lastBucket, bucket)
        }
        for (key, count) in load.backendBuckets {
            let bucket = (key >> 20) / widthSeconds
            backendByBucket[bucket, default: [:]][deployments[key & 0xFFFFF].name, default: 0] += count
        }
        var buckets: [LoadBucket] = []
        if lastBucket >= 0 {
            let firstBucket = Int(load.startedAt / second) / widthSeconds
            for bucket in min(firstBucket, lastBucket)...lastBucket {
                buckets.append(LoadBucket(
                    start: .seconds(Int64(bucket * widthSeconds)),
                    status: (statusByBucket[bucket] ?? [:]).sorted { $0.key < $1.key }.map { (code: $0.key, count: $0.value) },
                    backends: (backendByBucket[bucket] ?? [:]).sorted { $0.key < $1.key }.map { (deployment: $0.key, count: $0.value) }))
            }
        }
        var bodies: [String: Int] = [:]
        for (body, count) in load.bodyCounts.enumerated() where count > 0 { bodies[bodyTexts[body], default: 0] += count }
        var result = LoadResult(name: load.spec.name, requests: load.completed, status: status, backends: backends, latency: latency,
                          buckets: buckets, bucketWidth: .seconds(Int64(widthSeconds)),
                          bodies: bodies.sorted { $0.key < $1.key }.map { (text: $0.key, count: $0.value) },
                          responseFlags: load.flagCounts.map { (flags: ResponseFlags(rawValue: $0.key).description, count: $0.value) }.sorted { $0.flags < $1.flags },
                          headers: load.headerTally.observations, upstreamHeaders: load.upstreamTally.observations)
        result.grpcStatus = load.grpcCounts.sorted { $0.key < $1.key }.map { (code: $0.key, count: $0.value) }
        result.tlsFailures = load.scheme == .https ? load.tlsFailures : nil
        return result
    }

    private func appResults() -> [AppResult] {
        var received: [String: Int] = [:]
        var counters: [String: [String: Int]] = [:]
        var order: [String: [String]] = [:]
        // The `external` client is no app: it serves nothing and is in no cluster.
        for deployment in deployments where !(deployment.namespace == SimEngine.externalNamespace && deployment.name == LoadSpec.external) {
            received[deployment.name, default: 0] += 0
            for pod in deployment.pods {
                received[deployment.name, default: 0] += pods[pod].app.received
                for (name, value) in pods[pod].app.counters(model: deployment.app.model) {
                    if counters[deployment.name]?[name] == nil { order[deployment.name, default: []].append(name) }
                    counters[deployment.name, default: [:]][name, default: 0] += value
                }
            }
        }
        return received.keys.sorted().map { name in
            AppResult(deployment: name, received: received[name] ?? 0,
                      counters: (order[name] ?? []).map { AppCounter(name: $0, value: counters[name]?[$0] ?? 0) })
        }
    }

    private func proxyResults() -> [ProxyResult] {
        pods.indices.filter { meters[$0].everMeshed }.map { (pod: $0, name: podName($0)) }.sorted { $0.name < $1.name }.map { entry in
            let pod = entry.pod
            return ProxyResult(pod: entry.name, cpuMs: Double(meters[pod].cpu) / 1e6, memoryBytes: meters[pod].peakMemory,
                               configBytes: meters[pod].configBytes, sidecar: sidecars[pod])
        }
    }

    func proxyConfigJSON(pod name: String) -> String? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let pod = podIndex[PodKey(namespace: String(parts[0]), name: String(parts[1]))], pods[pod].hasSidecar else { return nil }
        guard let config = sidecars[pod].config ?? controller.config(for: pods[pod].key) else { return nil }
        // The controller's rendering, as `fsm proxy get config_dump` prints it.
        return config.renderedJSON(pretty: true)
    }

    var meshedPodNames: [String] {
        pods.indices.filter { pods[$0].hasSidecar && !pods[$0].removed }.map(podName).sorted()
    }
}
