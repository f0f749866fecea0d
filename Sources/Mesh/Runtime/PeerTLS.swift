#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MeshIdentity
import NIOCore
import NIOSSL
import NIOTLS

/// How sidecars talk to each other.
public enum PeerTransport: Sendable {
    /// Mutual TLS: every sidecar-to-sidecar connection presents the workload certificate from these
    /// files and verifies the peer's against the mesh root; the peer identity that access control
    /// checks is the one in the verified client certificate.
    case mutualTLS(PeerCertificateFiles)
    /// Mutual TLS with a certificate the controller issues: the sidecar makes its own key, sends
    /// the controller a certificate request (from its pod address) for its pod's identity, and
    /// renews before expiry (`WorkloadCertificateClient`). Needs a controller-driven sidecar.
    case mutualTLSFromController
    /// Plain HTTP, the source identity carried in an `x-fsm-source-identity` header. Any local
    /// process can forge it: only for tests of the shell that do not care about identity, and
    /// only when asked for explicitly (`fsm sidecar --insecure-plaintext-peers`).
    case insecurePlaintext
}

/// The workload certificate (leaf first, PEM), its private key (PEM) and the mesh root (PEM).
/// Re-read when any of the three changes, for renewal.
public struct PeerCertificateFiles: Sendable, Hashable {
    public var certificatePath: String
    public var privateKeyPath: String
    public var caPath: String

    public init(certificatePath: String, privateKeyPath: String, caPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.caPath = caPath
    }

    var paths: [String] { [certificatePath, privateKeyPath, caPath] }
}

/// A bad certificate file: says which file and why.
public struct PeerCertificateError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The TLS contexts built from one version of the certificate files. New connections take the
/// driver's current `PeerTLS`; a connection keeps the context it started with, so a renewal never
/// disturbs open connections.
struct PeerTLS: Sendable {
    let workload: WorkloadCertificate
    let serverContext: NIOSSLContext
    /// Offers ALPN `http/1.1` (HTTP/1.1 upstream connections and tunnels).
    let clientContext: NIOSSLContext
    /// Offers ALPN `h2` (HTTP/2 upstream connections, for gRPC ports).
    let clientContextHTTP2: NIOSSLContext
    /// What the files held, to tell a real change from a touch.
    let fileContents: [String]

    var identity: ServiceIdentity { workload.identity }

    var logMetadata: Logger.Metadata {
        ["identity": "\(workload.identity)", "serial": "\(workload.serialNumberHex)", "not_after": "\(workload.notValidAfter)"]
    }

    static func load(_ files: PeerCertificateFiles) throws -> PeerTLS {
        var texts: [String] = []
        for path in files.paths {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw PeerCertificateError(description: "cannot read \(path)")
            }
            texts.append(text)
        }
        return try make(certificatePEM: texts[0], privateKeyPEM: texts[1], caPEM: texts[2])
    }

    static func make(certificatePEM: String, privateKeyPEM: String, caPEM: String) throws -> PeerTLS {
        // MeshIdentity checks what NIOSSL would accept silently: the key belongs to the certificate
        // and the certificate names a mesh identity.
        let workload: WorkloadCertificate
        do {
            workload = try WorkloadCertificate(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM, issuerPEM: caPEM)
        } catch {
            throw PeerCertificateError(description: "\(error)")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
            let roots = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))
            var server = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(roots))
            server.minimumTLSVersion = .tlsv12
            // The inbound listener speaks both; it also tells them apart by the HTTP/2 preface.
            server.applicationProtocols = ["h2", "http/1.1"]
            var client = TLSConfiguration.makeClientConfiguration()
            client.minimumTLSVersion = .tlsv12
            client.certificateChain = chain.map { .certificate($0) }
            client.privateKey = .privateKey(key)
            client.trustRoots = .certificates(roots)
            // The server's identity is not pinned (the config does not say which identity a
            // cluster's endpoints carry): any certificate from the mesh root is accepted.
            client.certificateVerification = .noHostnameVerification
            // Closing waits this long for the peer's close_notify. A peer busy with an abandoned
            // request (a timed-out or cancelled exchange) does not read it, and would otherwise
            // keep working on the request for NIO's default 5 s.
            server.shutdownTimeout = PeerTLS.shutdownTimeout
            client.shutdownTimeout = PeerTLS.shutdownTimeout
            var clientHTTP2 = client
            client.applicationProtocols = ["http/1.1"]
            clientHTTP2.applicationProtocols = ["h2"]
            return PeerTLS(workload: workload, serverContext: try NIOSSLContext(configuration: server),
                           clientContext: try NIOSSLContext(configuration: client), clientContextHTTP2: try NIOSSLContext(configuration: clientHTTP2),
                           fileContents: [certificatePEM, privateKeyPEM, caPEM])
        } catch {
            throw PeerCertificateError(description: "TLS cannot use the certificate files: \(error)")
        }
    }

    static let shutdownTimeout = TimeAmount.milliseconds(250)

    /// The mesh identity in a peer certificate that BoringSSL already verified against the root.
    static func identity(of certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes() else { return nil }
        return PeerCertificateVerifier.identity(ofDER: der)?.dnsName
    }
}

/// Sits right after the TLS handler: a handshake that fails (a plaintext client, an expired
/// certificate, one from a foreign CA, no certificate at all) is counted
/// (`runtime.tls_handshake_failed`) and the connection closed; nothing else on the sidecar notices.
final class TLSHandshakeGuard: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let driver: SidecarDriver
    private let side: String
    private var completed = false
    /// Told of a failed handshake (the client side's connection, which then fails as a connect
    /// failure would: 503, `UF`).
    private let onFailure: (@Sendable () -> Void)?

    init(driver: SidecarDriver, side: String, onFailure: (@Sendable () -> Void)? = nil) {
        self.driver = driver
        self.side = side
        self.onFailure = onFailure
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            completed = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !completed else {
            context.fireErrorCaught(error)
            return
        }
        // Errors before the handshake completed: TLS failures. With TLS 1.3 a client learns that
        // the server refused its certificate only after its own handshake completed; the server
        // side counts those.
        completed = true
        driver.count(.tlsHandshakeFailed)
        onFailure?()
        driver.logger.warning("TLS handshake failed", metadata: [
            "side": "\(side)", "peer": "\(context.channel.remoteAddress?.description ?? "?")", "error": "\(error)",
        ])
        context.close(promise: nil)
    }
}

extension SidecarDriver {
    /// Adds the client side of mTLS to a connection towards a peer sidecar (no-op in plaintext mode).
    func addPeerTLSClient(to pipeline: ChannelPipeline.SynchronousOperations, http2: Bool = false, onHandshakeFailure: (@Sendable () -> Void)? = nil) throws {
        guard let tls = peerTLS else { return }
        try pipeline.addHandler(NIOSSLClientHandler(context: http2 ? tls.clientContextHTTP2 : tls.clientContext, serverHostname: nil))
        try pipeline.addHandler(TLSHandshakeGuard(driver: self, side: "client", onFailure: onHandshakeFailure))
    }

    /// Adds the server side of mTLS to a connection on the inbound listener, right after `anchor`
    /// (`DeferredTLSServer`, when the peer's first bytes arrive), with the certificate current then.
    func addPeerTLSServer(to pipeline: ChannelPipeline.SynchronousOperations, after anchor: any ChannelHandler) throws {
        guard let tls = peerTLS else { return }
        let handler = NIOSSLServerHandler(context: tls.serverContext)
        try pipeline.addHandler(handler, position: .after(anchor))
        try pipeline.addHandler(TLSHandshakeGuard(driver: self, side: "server"), position: .after(handler))
    }

    /// The identity of the peer on an inbound connection: from its verified certificate under mTLS,
    /// from the header only in the explicit plaintext mode.
    func peerIdentity(channel: any Channel, header: String?) -> String? {
        switch settings.peerTransport {
        case .insecurePlaintext:
            return header
        case .mutualTLS, .mutualTLSFromController:
            // On an HTTP/2 stream the TLS handler is on the connection, the stream's parent (an
            // accepted connection's own parent is the listening socket, without one).
            let certificate = (try? channel.pipeline.syncOperations.nioSSL_peerCertificate())
                ?? (try? channel.parent?.pipeline.syncOperations.nioSSL_peerCertificate())
            guard let certificate else { return nil }
            return PeerTLS.identity(of: certificate)
        }
    }
}

extension SidecarDriver {
    /// The workload certificate new peer connections present (nil in plaintext mode). Loop-confined.
    public var workloadCertificate: WorkloadCertificate? { peerTLS?.workload }
}
