import SimCore

/// The client outside the cluster (`from: external`) in a real run: no sidecar, not captured; it
/// dials what DNS outside the cluster answers for the URL's host (a gateway's LoadBalancer
/// Service, an external host) from an address of its own, and sends the load's headers (`Host`).
extension RealModeRunner {
    static func outsideClient(_ load: LoadSpec, url: LoadURL, cluster: RealCluster, place: String) throws(RealModeError)
        -> (ip: String, url: LoadURL, kubeProxy: RealKubeProxy?, serverFirst: Bool) {
        guard let ip = cluster.resolveFromOutside(host: url.host) else {
            throw .unsupported("a load from outside the cluster to \(url.host) (load \(load.name)\(place)): from outside, a real run reaches a gateway's LoadBalancer Service (fsm-gateway-<ns>.<ns>) and the external hosts")
        }
        return (cluster.externalClientIP, url, RealKubeProxy(targets: [RealKubeProxy.Target(host: ip, port: url.port)]), false)
    }
}

extension Scenario {
    /// The loads of the steps, in the file's order.
    var loadSpecs: [LoadSpec] {
        steps.compactMap { step in
            if case .load(let load) = step.action { return load }
            return nil
        }
    }
}
