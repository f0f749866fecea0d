import MeshModel
import SimCore

/// Why a real run could not be made (exit status 2): never a silent pass.
public enum RealModeError: Error, CustomStringConvertible, Equatable {
    /// A scenario feature the real mode cannot do yet, named.
    case unsupported(String)
    /// Sockets, files or the sidecars failed to start.
    case setup(String)

    public var description: String {
        switch self {
        case .unsupported(let feature): "real mode cannot run this scenario yet: \(feature)"
        case .setup(let problem): "real mode could not set up the run: \(problem)"
        }
    }
}

/// The scenario features a real run can carry out; anything else is refused up front.
enum RealModeSupport {
    static func check(_ scenario: Scenario) throws(RealModeError) {
        if scenario.network.loss > 0 { throw .unsupported("network loss (network.loss \(scenario.network.loss))") }
        try checkProtocols(scenario)
        for step in scenario.steps {
            let place = step.location.map { " (line \($0.line))" } ?? ""
            switch step.action {
            case .load(let load):
                if load.concurrency > RealLoadRunner.maxConcurrency {
                    throw .unsupported("concurrency \(load.concurrency) (load \(load.name)\(place)): at most \(RealLoadRunner.maxConcurrency) workers, each a real connection")
                }
            case .fault(let fault):
                switch fault {
                case .error, .killPod, .sidecarCrash: break
                case .partition: throw .unsupported("fault kind partition\(place)")
                case .latency: throw .unsupported("fault kind latency\(place)")
                }
            case .apply(let resources):
                for resource in resources where changesPods(resource.kind) {
                    throw .unsupported("applying a \(resource.kind.rawValue) at runtime (\(resource.metadata.namespace)/\(resource.metadata.name))\(place)")
                }
            case .delete(let key):
                if changesPods(key.kind) { throw .unsupported("deleting a \(key.kind.rawValue) at runtime (\(key.namespace)/\(key.name))\(place)") }
            }
        }
    }

    /// https:// and grpc:// loads run from outside the cluster (`from: external`, the gateway
    /// demos): real TLS and HTTP/2 clients (`RealTLSClient`, `RealGRPCConnection`) against the
    /// gateway pods and the real tls-echo and grpc-echo apps. https:// runs from a meshed pod too
    /// (`checkHTTPSFromPod`); no scenario sends gRPC from a pod, so that is refused.
    static func checkProtocols(_ scenario: Scenario) throws(RealModeError) {
        for step in scenario.steps {
            guard case .load(let load) = step.action, let url = try? LoadURL(parsing: load.url), url.scheme == .grpc, !load.isExternal else { continue }
            let place = step.location.map { " (line \($0.line))" } ?? ""
            throw .unsupported("grpc:// loads from a pod (load \(load.name) from \(load.from)\(place)): real mode sends them from outside the cluster only")
        }
    }

    /// An https:// load from a pod goes as curl behind its sidecar (a `CONNECT`, then TLS through
    /// the tunnel: DECISIONS 230) to a host outside the cluster, as the simulator relays it
    /// (DECISIONS 222). From a pod without a sidecar, or to a service or pod of the cluster (whose
    /// sidecars would wrap the TLS in their mTLS, which the simulator does not model), it is refused.
    static func checkHTTPSFromPod(_ load: LoadSpec, url: LoadURL, meshed: Bool, cluster: RealCluster, place: String) throws(RealModeError) {
        guard url.scheme == .https else { return }
        guard meshed else { throw .unsupported("https:// loads from a pod without a sidecar (load \(load.name) from \(load.from)\(place))") }
        guard cluster.externalIPs[url.host.lowercased()] != nil else {
            throw .unsupported("https:// loads from a pod to a service or pod of the cluster (load \(load.name) from \(load.from) to \(url.host)\(place)): from a meshed pod, a real run sends https:// to the external hosts only")
        }
    }

    /// Kinds that create, move or remove pods, listeners or addresses: the real run fixes those at the start.
    private static func changesPods(_ kind: ResourceKind) -> Bool {
        switch kind {
        case .namespace, .service, .deployment, .statefulSet, .pod, .endpoints: true
        default: false
        }
    }

    /// The simulator runs bookbuyer/bookthief client loops; the real run does not, so expectations
    /// about what apps received or counted would compare different traffic.
    static func checkClientLoops(_ scenario: Scenario, cluster: RealCluster) throws(RealModeError) {
        let looping = cluster.pods.filter { $0.app.clientLoops > 0 }.map(\.deployment)
        guard let first = looping.first else { return }
        for expectation in scenario.expectations {
            switch expectation.check {
            case .received, .appCounter:
                throw .unsupported("bookbuyer/bookthief client loops (\(first)) with an app expectation (\(expectation.text))")
            default: continue
            }
        }
    }
}
