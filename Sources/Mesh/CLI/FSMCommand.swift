import ArgumentParser
import Dispatch
import Foundation
import Logging
import MeshRuntime

@main
struct FSMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsm",
        abstract: "Swift service mesh: run a sidecar, query a sidecar's admin port.",
        subcommands: [SidecarCommand.self, ProxyCommand.self, CACommand.self]
    )
}

struct SidecarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sidecar",
        abstract: "Run a sidecar in local mode (apps send plain HTTP to the outbound listener, Host names the service)."
    )

    @Option(help: "ProxyConfig JSON file (the config_dump shape); re-read when it changes or on SIGHUP.")
    var config: String

    @Option(help: "The pod's IP: every listener binds it (use distinct 127.x.y.z addresses for pods on one machine).")
    var podIP: String

    @Option(help: "Outbound listener port.")
    var outboundPort = 15001

    @Option(help: "Inbound listener port (also the port peers are reached on).")
    var inboundPort = 15003

    @Option(help: "Admin port: /ready, /stats, /stats/prometheus, /config_dump.")
    var adminPort = 15010

    @Option(help: "Workload certificate (PEM, leaf first) presented to peer sidecars; re-read when it changes.")
    var cert: String?

    @Option(help: "The workload certificate's private key (PEM).")
    var key: String?

    @Option(help: "The mesh root CA certificate (PEM): peers' certificates must chain to it.")
    var ca: String?

    @Flag(help: "Talk to peer sidecars in plain HTTP with the identity in a header (forgeable; tests only).")
    var insecurePlaintextPeers = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        let given = [cert, key, ca].compactMap { $0 }.count
        if insecurePlaintextPeers {
            guard given == 0 else { throw ValidationError("--insecure-plaintext-peers and --cert/--key/--ca exclude each other") }
        } else if given != 3 {
            throw ValidationError("sidecars talk mTLS: give --cert, --key and --ca (for example from `fsm ca issue`), or --insecure-plaintext-peers for a test without identity")
        }
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "fsm.sidecar")
        logger[metadataKey: "pod_ip"] = "\(podIP)"
        let transport: PeerTransport
        if let cert, let key, let ca {
            transport = .mutualTLS(PeerCertificateFiles(certificatePath: cert, privateKeyPath: key, caPath: ca))
        } else {
            logger.warning("peer traffic is plaintext and identities are taken from a header: for tests only")
            transport = .insecurePlaintext
        }
        let settings = SidecarSettings(podIP: podIP, peerTransport: transport, outboundPort: outboundPort, inboundPort: inboundPort, adminPort: adminPort)
        let process = try await SidecarProcess.start(configPath: config, settings: settings, logger: logger)
        process.reloadOnHangup()
        // SIGTERM / SIGINT: drain the requests in progress (up to 5 s), then exit.
        let (stop, continuation) = AsyncStream<Void>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        for await _ in stop { break }
        logger.info("draining before exit")
        await process.shutdown()
        for source in sources { source.cancel() }
    }
}

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

        @Option(help: "The sidecar's admin address, host:port.")
        var admin = "127.0.0.1:15010"

        func run() async throws {
            guard let colon = admin.lastIndex(of: ":"), let port = Int(admin[admin.index(after: colon)...]), (1...65535).contains(port) else {
                throw ValidationError("--admin must be host:port")
            }
            let host = String(admin[..<colon])
            let response = try await SimpleHTTPClient.request(host: host, port: port, path: page.path)
            print(response.body, terminator: response.body.hasSuffix("\n") ? "" : "\n")
            if response.status != 200 { throw ExitCode(1) }
        }
    }
}
