import ArgumentParser
import Foundation
import Logging
import MeshKube
import NIOCore

/// `--kubeconfig` and `--context`, shared by every command that talks to a cluster (`fsm
/// controller --kubernetes`, `fsm injector --kubernetes`, `fsm install`, `fsm uninstall mesh`,
/// `fsm namespace`, `fsm metrics`, `fsm version`), and the one way they find the API server.
struct KubeOptions: ParsableArguments {
    @Option(help: "The kubeconfig file (default: $KUBECONFIG, the pod's service account, then ~/.kube/config).")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context (default: its current-context).")
    var context: String?

    /// Either option was given.
    var isGiven: Bool { kubeconfig != nil || context != nil }

    /// The API server connection: --kubeconfig, $KUBECONFIG, the pod's service account, ~/.kube/config.
    func connection() throws -> KubeConnection {
        guard let connection = try resolvedConnection() else {
            throw ValidationError("no kubeconfig: give --kubeconfig FILE, set KUBECONFIG, or run in a pod")
        }
        return connection
    }

    /// The connection, nil when nothing names a cluster (no option, no $KUBECONFIG, not in a pod,
    /// no ~/.kube/config); a kubeconfig that cannot be used is an error.
    func resolvedConnection() throws -> KubeConnection? {
        let located: Result<KubeConnection?, KubeError> = Result { () throws(KubeError) -> KubeConnection? in try locate() }
        switch located {
        case .success(let connection): return connection
        case .failure(let error): throw ValidationError("\(error)")
        }
    }

    private func locate() throws(KubeError) -> KubeConnection? {
        let environment = ProcessInfo.processInfo.environment
        if let path = kubeconfig ?? environment["KUBECONFIG"].flatMap({ $0.split(separator: ":").first.map(String.init) }) {
            return try Kubeconfig.load(path: path, context: context)
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try KubeConnection.inCluster() }
        let home = (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
        return FileManager.default.fileExists(atPath: home) ? try Kubeconfig.load(path: home, context: context) : nil
    }

    /// Runs `body` with a client of the cluster, shut down after.
    func withClient<T>(requestTimeout: Double = 30, _ body: (KubeClient) async throws -> T) async throws -> T {
        let client: KubeClient
        do {
            // Failures come back as errors and are printed once; nothing is logged on stdout.
            var logger = Logger(label: "fsm.kube")
            logger.logLevel = .critical
            client = try KubeClient(connection: try connection(), requestTimeout: .seconds(Int64(requestTimeout)), logger: logger)
        } catch let error as KubeError {
            throw ValidationError("\(error)")
        }
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
