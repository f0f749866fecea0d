import MeshModel
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import SimCore

/// An `https://` load's client TLS, as curl's options make it (DECISIONS 185, 186, 204): the SNI
/// (`tls.sni`, else the URL's host) is also the name the server's certificate must carry;
/// `caSecret` trusts that Secret's `ca.crt` only (`--cacert`), `insecure` trusts anything (`-k`),
/// neither trusts the run's public root (the system roots of a run); `clientSecret` presents that
/// Secret's `tls.crt` with its `tls.key`. One context per load, built before it starts.
struct RealTLSClient: Sendable {
    let context: NIOSSLContext
    /// The ClientHello's server name and the name verified (nil for an address: no SNI).
    let serverName: String?

    /// `secrets`: the run's Secrets as real mode rewrote them, by `namespace/name`.
    init(tls: LoadTLS?, url: LoadURL, secrets: [String: Secret], publicRootPEM: String) throws(RealModeError) {
        let tls = tls ?? LoadTLS()
        let name = (tls.sni ?? url.host).lowercased()
        serverName = name.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : name
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if tls.insecure {
                configuration.certificateVerification = .none
            } else {
                let anchor = try tls.caSecret.map { name throws(RealModeError) in try Self.text(Secret.caKey, of: name, in: secrets) } ?? publicRootPEM
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(anchor.utf8)))
                configuration.certificateVerification = .fullVerification
            }
            if let client = tls.clientSecret {
                let certificate = try Self.text(Secret.certificateKey, of: client, in: secrets)
                let key = try Self.text(Secret.privateKeyKey, of: client, in: secrets)
                configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
            }
            context = try NIOSSLContext(configuration: configuration)
        } catch let error as RealModeError {
            throw error
        } catch {
            throw .setup("the TLS client of \(url.scheme.rawValue)://\(url.authority) cannot load its certificates: \(error)")
        }
    }

    private static func text(_ key: String, of name: String, in secrets: [String: Secret]) throws(RealModeError) -> String {
        guard let text = secrets[name]?.text(key) else { throw .setup("Secret \(name) has no \(key)") }
        return text
    }

    /// The handler that starts the handshake on a new connection, and behind it the watch that
    /// tells a failed handshake (or a refusal after it) from other failures.
    func install(on operations: ChannelPipeline.SynchronousOperations, watch: RealTLSFailureWatch) throws {
        try operations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
        try operations.addHandler(watch)
    }
}

/// Sees the TLS layer's errors go by: a certificate refused either way (curl's 35, 60, or 52 after
/// the server refused the client's certificate) is a TLS failure of the load's client (DECISIONS 186).
final class RealTLSFailureWatch: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let failed = NIOLockedValueBox(false)

    var sawFailure: Bool { failed.withLockedValue { $0 } }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError { failed.withLockedValue { $0 = true } }
        context.fireErrorCaught(error)
    }
}
