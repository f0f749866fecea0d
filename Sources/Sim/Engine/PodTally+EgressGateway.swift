import MeshModel

/// An EgressGateway must name Services the scenario declares (in its manifests, or in this or an
/// earlier `apply:` step): the simulator runs the pods behind them as the gateway, and a name that
/// matches nothing is most likely a typo that would otherwise fail every egress closed (E5017).
extension PodTally {
    mutating func checkEgressGateways(_ decoded: [DecodedResource]) throws(ManifestError) {
        for case .service(let service) in decoded.map(\.resource) { services.insert("\(service.metadata.namespace)/\(service.metadata.name)") }
        for item in decoded {
            guard case .egressGateway(let gateway) = item.resource else { continue }
            for (index, backend) in gateway.global.enumerated() where !services.contains("\(backend.namespace)/\(backend.service)") {
                let known = services.isEmpty ? "none are declared" : "declared: " + services.sorted().joined(separator: ", ")
                throw ManifestError(at: item.location, path: "spec.global[\(index)].service",
                                    message: "EgressGateway \(gateway.metadata.namespace)/\(gateway.metadata.name) names Service \(backend.namespace)/\(backend.service), which the scenario does not declare (\(known))")
            }
        }
    }
}
