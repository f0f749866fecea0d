#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOSSL

/// The state of one gateway process, confined to its event loop: the engine (every decision),
/// the applied config and its TLS contexts, the sockets' counters. The HTTP listeners' requests go
/// through `sidecar`, the same driver the sidecar's listeners use (request intake, responders,
/// upstream links, deadlines), on the same loop.
final class GatewayDriver: @unchecked Sendable {
    let sidecar: SidecarDriver
    let settings: GatewaySettings
    var engine: any GatewayEngine
    var eventLoop: any EventLoop { sidecar.eventLoop }
    var logger: Logger { sidecar.logger }

    private(set) var config: GatewayConfig?
    private(set) var configJSON: String?
    /// The sockets the applied config asks for.
    private(set) var plan = GatewayListenerPlan()
    var counters: GatewayListenerCounters
    /// Server contexts by certificate and client CA, built when a config is applied (a context is
    /// costly: never per connection), so a certificate that does not load rejects the config.
    private var tlsContexts: [TLSContextKey: NIOSSLContext] = [:]
    private var nextConnection: UInt64 = 1
    var generator = ShellRandomNumberGenerator()
    /// Shutting down: no new connections are relayed.
    var isDraining = false
    /// The sockets bound now (`GatewayProcess` keeps it).
    var bound: Set<GatewayListenerPlan.Socket> = []

    struct TLSContextKey: Hashable {
        var certificate: GatewayConfig.Certificate
        var clientCA: String?
    }

    init(sidecar: SidecarDriver, settings: GatewaySettings, engine: any GatewayEngine) {
        self.sidecar = sidecar
        self.settings = settings
        self.engine = engine
        self.counters = GatewayListenerCounters(limit: settings.connectionLimit)
        sidecar.accessLogSwitch = settings.accessLog != nil
    }

    var isReady: Bool { config != nil }

    func newConnectionID() -> ConnectionID {
        defer { nextConnection += 1 }
        return ConnectionID(nextConnection)
    }

    // MARK: Config

    /// A config from the controller: its certificates must load and the engine must take it;
    /// otherwise the last good config stays (the caller counts the rejection).
    func apply(_ config: GatewayConfig) -> ConfigApplyResult {
        eventLoop.preconditionInEventLoop()
        let contexts: [TLSContextKey: NIOSSLContext]
        do {
            contexts = try Self.makeContexts(for: config, reusing: tlsContexts)
        } catch {
            return .rejected(reason: "\(error)")
        }
        let result = engine.apply(config)
        guard case .applied = result else { return result }
        let next = GatewayListenerPlan(config)
        for conflict in next.conflicts {
            logger.warning("listener shares its port with a listener of another kind and gets no socket", metadata: [
                "listener": "\(conflict.listener)", "port": "\(conflict.port)", "kind": "\(conflict.kind)", "port_kind": "\(conflict.portKind)",
            ])
        }
        self.config = config
        plan = next
        tlsContexts = contexts
        configJSON = Self.render(config)
        return result
    }

    /// The server context presenting `certificate` (and verifying clients against `clientCA`), as
    /// the applied config built it; nil for a certificate the config does not hold.
    func tlsContext(_ certificate: GatewayConfig.Certificate, clientCA: String?) -> NIOSSLContext? {
        tlsContexts[TLSContextKey(certificate: certificate, clientCA: clientCA)]
    }

    private static func makeContexts(for config: GatewayConfig, reusing old: [TLSContextKey: NIOSSLContext]) throws -> [TLSContextKey: NIOSSLContext] {
        var contexts: [TLSContextKey: NIOSSLContext] = [:]
        for listener in config.listeners {
            guard let tls = listener.tls, tls.mode == .terminate else { continue }
            let clientCA = tls.requireClientCertificate ? tls.clientCA : nil
            if tls.requireClientCertificate, clientCA == nil {
                throw GatewayTLSProblem(listener: listener.name, secret: nil, message: "mTLS is required but no client CA is given")
            }
            for certificate in tls.certificates {
                let key = TLSContextKey(certificate: certificate, clientCA: clientCA)
                guard contexts[key] == nil else { continue }
                if let existing = old[key] {
                    contexts[key] = existing
                    continue
                }
                do {
                    contexts[key] = try makeContext(certificate, clientCA: clientCA)
                } catch {
                    throw GatewayTLSProblem(listener: listener.name, secret: certificate.secret, message: "\(error)")
                }
            }
        }
        return contexts
    }

    private static func makeContext(_ certificate: GatewayConfig.Certificate, clientCA: String?) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8))
        guard !chain.isEmpty else { throw GatewayTLSProblem.Reason.noCertificate }
        let key = try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2", "http/1.1"]
        configuration.shutdownTimeout = PeerTLS.shutdownTimeout
        if let clientCA {
            let roots = try NIOSSLCertificate.fromPEMBytes(Array(clientCA.utf8))
            guard !roots.isEmpty else { throw GatewayTLSProblem.Reason.noClientCA }
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }

    private static func render(_ config: GatewayConfig) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    // MARK: Connections

    /// A connection accepted on `socket`: kept (its slot freed when it closes), or refused over
    /// the socket's limit (counted; the caller closes it before it costs anything more).
    func admit(_ socket: GatewayListenerPlan.Socket, _ channel: any Channel) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard counters.opened(socket) == .admit else {
            logger.debug("connection over the listener's limit closed", metadata: ["listener": "\(socket)", "limit": "\(counters.limit)"])
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in counters.closed(socket) }
        return true
    }

    func count(_ name: GatewayListenerCounters.Name, _ socket: GatewayListenerPlan.Socket) {
        counters.add(name, socket)
    }
}

/// A certificate of a Terminate listener that TLS cannot use: the config is rejected with it.
struct GatewayTLSProblem: Error, CustomStringConvertible {
    enum Reason: Error, CustomStringConvertible {
        case noCertificate
        case noClientCA
        var description: String {
            switch self {
            case .noCertificate: "the certificate PEM holds no certificate"
            case .noClientCA: "the client CA PEM holds no certificate"
            }
        }
    }

    var listener: String
    var secret: String?
    var message: String
    var description: String {
        "listener \(listener)\(secret.map { " certificate \($0)" } ?? ""): \(message)"
    }
}
