import MeshModel
import MeshProxy
import NIOCore
import NIOSSL

/// The engine's gateway HTTP entry as the driver calls it: the request of exchange `id` on a
/// gateway listener (`origin`) from `source`, answered with the same actions as an outbound
/// request (send, respond, timers), which the driver carries out as it does a sidecar's.
typealias GatewayHTTPEntry = (_ engine: inout Sidecar, _ id: ExchangeID, _ head: MeshProxy.HTTPRequestHead, _ origin: GatewayRequestOrigin,
                              _ source: MeshProxy.SocketAddress, _ now: MeshInstant, _ random: inout ShellRandomNumberGenerator) -> [OutboundHTTPAction]

extension SidecarDriver {
    /// A request on a gateway listener: the engine's gateway entry routes it.
    func gatewayRequest(_ id: ExchangeID, head: MeshProxy.HTTPRequestHead, origin: GatewayRequestOrigin, from downstream: OutboundDownstreamHandler) -> [OutboundHTTPAction] {
        let source = downstream.remoteAddress
        guard let gatewayEntry else {
            // A gateway process always sets the entry; without one nothing may route the request.
            return [.respond(id, MeshProxy.HTTPResponseHead(status: 503), local: .noRoute, flags: .noRoute)]
        }
        return gatewayEntry(&engine, id, head, origin, source, now(), &generator)
    }

    /// Whether an upstream connection for `cluster` goes to the endpoint itself, without the
    /// mesh's headers: egress clusters, and every cluster of a gateway (it reaches backends at
    /// their own address and port, as FSM Gateway does for pods outside the mesh).
    func dialsDirectly(_ cluster: String) -> Bool {
        gatewayEntry != nil || Sidecar.isEgressCluster(cluster)
    }

    /// A gateway's connection to an endpoint of `cluster` speaks TLS when the engine says so
    /// (UpstreamTLSPolicy): verifying the endpoint against the policy's CA (any name: endpoints are
    /// dialled by address), presenting the client certificate under mTLS. A failed handshake is a
    /// failed connect, as towards a peer sidecar.
    func addGatewayUpstreamTLS(cluster: String, to pipeline: ChannelPipeline.SynchronousOperations, onHandshakeFailure: @escaping @Sendable () -> Void) throws {
        guard gatewayEntry != nil else { return }
        let security = engine.gatewayUpstreamSecurity(cluster: cluster)
        guard case let .tls(caPEM, clientCertificate) = security else { return }
        let context: NIOSSLContext
        if let cached = gatewayUpstreamContexts[security] {
            context = cached
        } else {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = ["http/1.1"]
            if let caPEM {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
                configuration.certificateVerification = .noHostnameVerification
            } else {
                configuration.certificateVerification = .none
            }
            if let clientCertificate {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificate.certificatePEM.utf8)).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientCertificate.privateKeyPEM.utf8), format: .pem))
            }
            context = try NIOSSLContext(configuration: configuration)
            gatewayUpstreamContexts[security] = context
        }
        try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
        try pipeline.addHandler(TLSHandshakeGuard(driver: self, side: "client", onFailure: onHandshakeFailure))
    }
}
