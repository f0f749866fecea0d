import ArgumentParser
import Foundation
import MeshRuntime
import MeshSidecarCommand

/// `fsm proxy get PAGE [POD -n NS] [--admin HOST:PORT]`: a sidecar's admin page. The admin port
/// binds loopback inside the pod, so a pod is reached through `kubectl port-forward` (the API
/// server's portforward subresource lands on the pod's own loopback, DECISIONS 76); `--admin`
/// reads a sidecar on this machine directly.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Query a sidecar.",
        subcommands: [Get.self]
    )

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GET a sidecar admin page: config_dump, stats, prometheus or ready.")

        enum Page: String, ExpressibleByArgument, CaseIterable {
            case configDump = "config_dump"
            case stats
            case prometheus
            case ready

            var path: String {
                switch self {
                case .configDump: "/config_dump"
                case .stats: "/stats"
                case .prometheus: "/stats/prometheus"
                case .ready: "/ready"
                }
            }
        }

        @Argument(help: "config_dump, stats, prometheus or ready.")
        var page: Page

        @Argument(help: "The pod whose sidecar to ask (in a cluster, through kubectl port-forward); without it, --admin.")
        var pod: String?

        @Option(name: [.customShort("n"), .long], help: "The pod's namespace.")
        var namespace = "default"

        @Option(help: "The sidecar's admin address, host:port (the pod IP in local mode, e.g. 127.1.0.10:15000).")
        var admin: String?

        @Option(help: "The sidecar's admin port in the pod.")
        var adminPort = 15000

        @Option(help: "The kubectl to port-forward with (default: kubectl on PATH).")
        var kubectl = "kubectl"

        @OptionGroup(title: "Cluster (with POD)")
        var kube: KubeOptions

        func validate() throws {
            if pod != nil, admin != nil { throw ValidationError("give POD (-n NAMESPACE) or --admin HOST:PORT, not both") }
            if pod == nil, kube.isGiven { throw ValidationError("--kubeconfig and --context go with POD") }
        }

        func run() async throws {
            guard let pod else {
                let address = admin ?? "127.0.0.1:15000"
                let (host, port) = try Self.hostPort(address)
                try await fetch(host: host, port: port, describing: address,
                                hint: "is the sidecar running? Give its admin address with --admin HOST:PORT (default 127.0.0.1:15000)")
                return
            }
            let forward = try KubectlPortForward.start(kubectl: kubectl, pod: pod, namespace: namespace, port: adminPort,
                                                       kubeconfig: kube.kubeconfig, context: kube.context)
            defer { forward.stop() }
            let local = try await forward.localAddress(within: .seconds(20))
            try await fetch(host: local.host, port: local.port, describing: "pod \(namespace)/\(pod) port \(adminPort)",
                            hint: "is the pod injected with a sidecar and running?")
        }

        func fetch(host: String, port: Int, describing: String, hint: String) async throws {
            let response: MeshHTTPResponse
            do {
                response = try await MeshHTTP.request(host: host, port: port, path: page.path)
            } catch {
                throw CommandFailure(NetworkErrorText.connect(to: describing, error, hint: hint))
            }
            print(response.body, terminator: response.body.hasSuffix("\n") ? "" : "\n")
            if response.status != 200 { throw ExitCode(1) }
        }

        static func hostPort(_ text: String) throws -> (String, Int) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw ValidationError("--admin must be host:port")
            }
            return (String(text[..<colon]), port)
        }
    }
}
