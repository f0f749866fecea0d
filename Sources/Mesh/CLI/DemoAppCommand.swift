import ArgumentParser
import Dispatch
import Foundation
import Logging
import MeshSidecarCommand
import MeshDemoApps
import MeshRuntime
import NIOCore

/// `fsm demo-app NAME`: one of the guides' demo apps in the foreground (what `fsm up` starts per pod).
struct DemoAppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-app",
        abstract: "Run a demo app: bookbuyer, bookthief, bookstore, bookwarehouse or httpbin.",
        discussion: """
        bookbuyer/bookthief loop buying from bookstore through their sidecar (--proxy, Host names the service) \
        and show their counters on GET / (text) and GET /raw (JSON). bookstore sells (GET /buy-a-book/new, \
        Identity header = --identity) and restocks from bookwarehouse. httpbin echoes; /status/N, /delay/N.
        """
    )

    @Argument(help: "bookbuyer, bookthief, bookstore, bookwarehouse or httpbin.")
    var name: String

    @Option(help: "Address the app's HTTP server binds, IP:PORT (the pod IP and container port).")
    var listen = "127.0.0.1:14001"

    @Option(help: "The pod's sidecar outbound listener, IP:PORT (default: the --listen IP, port 15001).")
    var proxy: String?

    @Flag(help: "Connect to the services themselves (--bookstore, --bookwarehouse: name:port, resolved by the system resolver) instead of --proxy, as an app in a pod whose traffic the sidecar captures.")
    var direct = false

    @Option(help: "The app's identity (bookstore: IDENTITY, e.g. bookstore-v1; shown in the Identity header).")
    var identity: String?

    @Option(help: "Host header naming the bookstore service (bookbuyer, bookthief).")
    var bookstore = "bookstore.bookstore:14001"

    @Option(help: "Host header naming the bookwarehouse service (bookstore's restock).")
    var bookwarehouse = "bookwarehouse.bookwarehouse:14001"

    @Option(help: "Shortest time of one client loop iteration, in milliseconds.")
    var intervalMs = 1000

    @Option(help: "bookstore's sell time, MIN-MAX milliseconds (the demo: 150-749).")
    var sellDelayMs = "150-749"

    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.")
    var logLevel = "info"

    func run() async throws {
        guard let kind = DemoAppKind(rawValue: name) else {
            throw ValidationError("unknown demo app \(name): expected one of \(DemoAppKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let level = try LoggingSystem.level(logLevel)
        let (listenHost, listenPort) = try Self.hostPort(listen, option: "--listen")
        if direct && proxy != nil { throw ValidationError("--direct and --proxy exclude each other") }
        let proxyAddress = direct ? nil : try Self.hostPort(proxy ?? "\(listenHost):15001", option: "--proxy")
        let bounds = sellDelayMs.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 0, bounds[0] <= bounds[1] else { throw ValidationError("--sell-delay-ms must be MIN-MAX, e.g. 150-749") }
        guard intervalMs >= 0 else { throw ValidationError("--interval-ms must not be negative") }
        LoggingSystem.bootstrapStandardError(level: level)
        let settings = DemoAppSettings(kind: kind, listenHost: listenHost, listenPort: listenPort, proxy: proxyAddress,
                                       identity: identity, bookstoreHost: bookstore, bookwarehouseHost: bookwarehouse,
                                       interval: .milliseconds(Int64(intervalMs)), sellDelay: bounds[0]..<(bounds[1] + 1))
        try await CommandLifecycle.run("demo app", logger: Logger(label: "fsm.demo-app")) { [listen] in
            let app: DemoApp
            do {
                app = try await DemoApp.start(settings, logger: Logger(label: "fsm.demo-app"))
            } catch where NetworkErrorText.isListenFailure(error) {
                throw CommandFailure(NetworkErrorText.listen(on: listen, error, hint: "is another app running on this address? Stop it or give --listen another address"))
            }
            return { await app.shutdown() }
        }
    }

    static func hostPort(_ text: String, option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port), colon > text.startIndex else {
            throw ValidationError("\(option) must be IP:PORT, found \(text)")
        }
        return (String(text[..<colon]), port)
    }
}
