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
    /// gateway pods and the real tls-echo and grpc-echo apps. From a pod they are refused: an
    /// https:// load from a meshed pod is one the simulator itself does not run (DECISIONS 186), and
    /// no scenario sends gRPC from a pod.
    static func checkProtocols(_ scenario: Scenario) throws(RealModeError) {
        for step in scenario.steps {
            guard case .load(let load) = step.action, let url = try? LoadURL(parsing: load.url), url.scheme == .https || url.scheme == .grpc,
                  !load.isExternal else { continue }
            let place = step.location.map { " (line \($0.line))" } ?? ""
            throw .unsupported("\(url.scheme.rawValue):// loads from a pod (load \(load.name) from \(load.from)\(place)): real mode sends them from outside the cluster only")
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
