import MeshModel

/// The most pods a scenario can have at once, counted while its manifests and `apply:` steps are
/// parsed: each workload and bare Pod at the largest size any of its documents gives it (an apply
/// replaces, so a re-applied workload is not counted twice). Past `ManifestLimits.maxPods` the
/// document that crosses the limit is the error. It also follows the Services declared so far, so
/// an EgressGateway naming none of them is an error at its line (`PodTally+EgressGateway`).
struct PodTally {
    private var sizes: [ResourceKey: Int] = [:]
    private(set) var total = 0
    /// `namespace/name` of every Service the manifests and the `apply:` steps so far declare.
    var services: Set<String> = []

    mutating func add(_ decoded: [DecodedResource]) throws(ManifestError) {
        try checkEgressGateways(decoded)
        for item in decoded {
            let key = item.resource.key
            let count = ManifestSet.podCount(item.resource)
            let known = sizes[key] ?? 0
            guard count > known else { continue }
            total += count - known
            sizes[key] = count
            if total > ManifestLimits.maxPods {
                throw ManifestError(at: item.location, message: "\(ManifestSet.describe(key)) brings the scenario to \(total) pods; at most \(ManifestLimits.maxPods) (the limit of pods per scenario)")
            }
        }
    }
}
