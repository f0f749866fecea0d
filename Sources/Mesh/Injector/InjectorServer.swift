import Foundation
import Logging
import MeshIdentity
import MeshInject
import MeshModel
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOHTTP1
import NIOSSL
import X509

/// Where and how the webhook server listens.
public struct InjectorServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// The names the API server reaches the webhook by (`fsm-injector.<ns>.svc`, ...), first as CN.
    public var dnsNames: [String]
    /// IPv4 addresses in the certificate too (one machine, tests).
    public var ipAddresses: [String]
    public var certificateValidity: MeshDuration
    /// The MutatingWebhookConfiguration (and ValidatingWebhookConfiguration) whose `caBundle` is set.
    public var webhookConfigurationName: String
    public var maxConnections: Int
    public var maxBodyBytes: Int
    /// A TLS handshake must complete within this time of the accept.
    public var handshakeTimeout: TimeAmount
    /// A request must arrive whole within this time of its first byte (else 408).
    public var requestTimeout: TimeAmount
    /// A connection with nothing to read for this long closes.
    public var idleTimeout: TimeAmount
    /// The credential Secret must be created within this time, else the failure policy answers:
    /// below the webhook's `timeoutSeconds` (10), so the API server always gets an answer.
    public var secretDeadline: TimeAmount

    public init(host: String = "0.0.0.0", port: Int = 9090, meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system",
                extraDNSNames: [String] = [], ipAddresses: [String] = [], certificateValidity: MeshDuration = .hours(24 * 365),
                maxConnections: Int = 128, maxBodyBytes: Int = 4 << 20, handshakeTimeout: TimeAmount = .seconds(10),
                requestTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(90), secretDeadline: TimeAmount = .seconds(5)) {
        self.host = host
        self.port = port
        let service = "fsm-injector.\(controlPlaneNamespace)"
        self.dnsNames = ["\(service).svc", "\(service).svc.cluster.local", service] + extraDNSNames
        self.ipAddresses = ipAddresses
        self.certificateValidity = certificateValidity
        self.webhookConfigurationName = "fsm-webhook-config-\(meshName)"
        self.maxConnections = maxConnections
        self.maxBodyBytes = maxBodyBytes
        self.handshakeTimeout = handshakeTimeout
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.secretDeadline = secretDeadline
    }
}

/// `fsm injector`: the mutating (`/mutate-pod-creation`) and validating (`/validate`) webhooks
/// over TLS, with a certificate issued by the mesh CA and renewed once a third of its validity is
/// left (new connections take the new one). At start it sets the webhook configurations'
/// `caBundle` to the mesh root. Every connection has deadlines; at most `maxConnections` at once.
public final class InjectorServer: @unchecked Sendable {
    let settings: InjectorServerSettings
    let webhook: AdmissionWebhook
    let cluster: any InjectorClusterView
    let writes: any InjectorKubeWrites
    let logger: Logger
    private let authority: MeshCertificateAuthority
    private let group: MultiThreadedEventLoopGroup
    private let tls: NIOLockedValueBox<(context: NIOSSLContext, certificate: ServerCertificate)>
    private let connections = NIOLockedValueBox(0)
    private var channel: (any Channel)?
    private var renewal: Task<Void, Never>?
    private var caBundleTask: Task<Void, Never>?

    /// The address bound (the port resolved when 0 was asked for).
    public var localAddress: SocketAddress? { channel?.localAddress }
    /// The certificate served to new connections now.
    public var currentCertificate: ServerCertificate { tls.withLockedValue { $0.certificate } }

    private init(settings: InjectorServerSettings, webhook: AdmissionWebhook, cluster: any InjectorClusterView, writes: any InjectorKubeWrites,
                 authority: MeshCertificateAuthority, first: ServerCertificate, context: NIOSSLContext, logger: Logger) {
        self.settings = settings
        self.webhook = webhook
        self.cluster = cluster
        self.writes = writes
        self.authority = authority
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.tls = NIOLockedValueBox((context, first))
    }

    public static func start(settings: InjectorServerSettings, webhook: AdmissionWebhook, cluster: any InjectorClusterView,
                             writes: any InjectorKubeWrites, authority: MeshCertificateAuthority,
                             logger: Logger = Logger(label: "fsm.injector")) async throws -> InjectorServer {
        let first = try issue(authority, settings)
        let server = InjectorServer(settings: settings, webhook: webhook, cluster: cluster, writes: writes, authority: authority,
                                    first: first, context: try makeContext(first), logger: logger)
        do {
            server.channel = try await server.bind()
        } catch {
            try? await server.group.shutdownGracefully()
            throw error
        }
        logger.notice("injection webhook listening", metadata: [
            "address": "\(server.localAddress?.description ?? "")", "dns_names": "\(settings.dnsNames.joined(separator: ","))",
            "serial": "\(first.serialNumberHex)", "not_after": "\(first.certificate.notValidAfter)",
        ])
        server.caBundleTask = Task { await server.publishCABundle() }
        server.renewal = Task { await server.renewForever() }
        return server
    }

    private func bind() async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                guard admit(channel) else { return channel.eventLoop.makeFailedFuture(WebhookConnectionRefused()) }
                return channel.eventLoop.makeCompletedFuture { try installPipeline(on: channel) }
            }
            .bind(host: settings.host, port: settings.port)
            .get()
    }

    /// Counts the connection, or refuses it when the limit is reached (NIO closes it at once).
    private func admit(_ channel: any Channel) -> Bool {
        let admitted = connections.withLockedValue { count -> Bool in
            guard count < settings.maxConnections else { return false }
            count += 1
            return true
        }
        guard admitted else {
            logger.warning("webhook connection refused: limit reached", metadata: ["limit": "\(settings.maxConnections)"])
            return false
        }
        channel.closeFuture.whenComplete { [connections] _ in connections.withLockedValue { $0 -= 1 } }
        return true
    }

    private func installPipeline(on channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        let context = tls.withLockedValue { $0.context }
        try operations.addHandler(WebhookConnectionDeadlines(handshakeTimeout: settings.handshakeTimeout, idleTimeout: settings.idleTimeout))
        try operations.addHandler(NIOSSLServerHandler(context: context))
        try operations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
        try operations.addHandler(WebhookRequestHandler(server: self))
    }

    /// Sets the configurations' `caBundle`, retrying with backoff (the API server calls the
    /// webhook only once it trusts it).
    private func publishCABundle() async {
        let bundle = tls.withLockedValue { $0.certificate.issuerPEM }
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                try await writes.patchWebhookCABundle(configurationName: settings.webhookConfigurationName, caBundlePEM: bundle)
                logger.notice("webhook caBundle set", metadata: ["configuration": "\(settings.webhookConfigurationName)"])
                return
            } catch {
                logger.error("webhook caBundle not set; retrying", metadata: ["configuration": "\(settings.webhookConfigurationName)", "error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(60))
        }
    }

    /// Renews the serving certificate whenever a third of its validity is left.
    private func renewForever() async {
        while !Task.isCancelled {
            let due = tls.withLockedValue { $0.certificate.renewalTime }
            let wait = max(0.05, due.timeIntervalSinceNow)
            try? await Task.sleep(for: .milliseconds(Int64(min(wait, 3600) * 1000)))
            guard !Task.isCancelled, Date() >= due else { continue }
            do {
                let renewed = try Self.issue(authority, settings)
                let context = try Self.makeContext(renewed)
                tls.withLockedValue { $0 = (context, renewed) }
                logger.notice("webhook certificate renewed", metadata: ["serial": "\(renewed.serialNumberHex)", "not_after": "\(renewed.certificate.notValidAfter)"])
            } catch {
                logger.error("webhook certificate renewal failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(10))
            }
        }
    }

    static func issue(_ authority: MeshCertificateAuthority, _ settings: InjectorServerSettings) throws -> ServerCertificate {
        var generator = SystemRandomNumberGenerator()
        return try authority.issueServerCertificate(dnsNames: settings.dnsNames, ipAddresses: settings.ipAddresses, now: Date(),
                                                    validity: settings.certificateValidity, using: &generator)
    }

    static func makeContext(_ certificate: ServerCertificate) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }

    /// Stops listening, lets open connections close, stops the loop.
    public func shutdown() async {
        renewal?.cancel()
        caBundleTask?.cancel()
        try? await channel?.close()
        try? await group.shutdownGracefully()
        logger.info("injection webhook stopped")
    }
}

/// An accepted connection over the limit (the initializer fails, NIO closes the socket).
struct WebhookConnectionRefused: Error, CustomStringConvertible {
    var description: String { "the webhook is at its connection limit" }
}
