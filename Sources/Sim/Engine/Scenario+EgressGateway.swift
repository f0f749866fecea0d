import MeshModel

extension Scenario {
    /// The Services (`namespace/name`) the scenario's EgressGateways name, in its manifests and
    /// `apply:` steps: the pods behind them run the egress gateway, in the simulator and real mode.
    public var egressGatewayServices: Set<String> {
        var names: Set<String> = []
        func collect(_ resources: [Resource]) {
            for case .egressGateway(let gateway) in resources {
                for backend in gateway.global { names.insert("\(backend.namespace)/\(backend.service)") }
            }
        }
        collect(manifests)
        for step in steps { if case .apply(let resources) = step.action { collect(resources) } }
        return names
    }
}
