import MeshControl
import MeshModel
import MeshProxy

/// TLS and UDP at the level the simulator models connections: an exchange carries the client's
/// `TLSClientHello` to the next server that speaks TLS (a gateway's HTTPS or TLS listener, a
/// tls-echo app), which decides the handshake by the engine's choice (`gatewayTLS`) and the
/// modelled certificates (`ModelledCertificate`); a failed handshake ends the exchange with
/// status 0 and, when the load's own client was part of it, counts a TLS failure.
extension SimEngine {
    /// A Secret of the world by `namespace/name`.
    func secret(named name: String) -> Secret? {
        let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, case .secret(let secret)? = otherResources[ResourceKey(kind: .secret, namespace: parts[0], name: parts[1])] else { return nil }
        return secret
    }

    /// What an https:// load's client sends and trusts (the Secrets as they are when it starts).
    func clientHello(_ spec: LoadSpec, url: LoadURL) -> TLSClientHello {
        let tls = spec.tls ?? LoadTLS()
        let trust: TLSTrust
        if tls.insecure {
            trust = .insecure
        } else if let ca = tls.caSecret.flatMap(secret(named:))?.text(Secret.caKey) {
            trust = .anchor(ca)
        } else {
            trust = .publicRoots
        }
        let certificate = tls.clientSecret.flatMap(secret(named:)).flatMap { ModelledCertificate(secret: $0) }
        return TLSClientHello(sni: tls.sni ?? url.host, trust: trust, clientCertificate: certificate)
    }

    /// The certificate an app presents when it speaks TLS (tls-echo); nil: it speaks plain.
    func serverCertificate(_ behavior: AppBehavior) -> ModelledCertificate? {
        guard behavior.model == .tlsEcho else { return nil }
        guard let name = behavior.tlsSecret else { return behavior.publicHost.map(ModelledCertificate.init(publicHost:)) }
        // A Secret deleted since: the server has nothing to present, every handshake fails.
        return secret(named: name).flatMap { ModelledCertificate(secret: $0, key: behavior.tlsCertificateKey) }
            ?? ModelledCertificate(certificatePEM: "", secret: nil)
    }

    /// The handshake where the exchange reaches its app: both speak TLS and the client accepts the
    /// certificate, or both speak plain. A ClientHello to a plain server, or plain bytes to a TLS
    /// server, fails (curl's 35 and 52).
    func appHandshake(slot: Int, behavior: AppBehavior) -> Bool {
        let certificate = serverCertificate(behavior)
        guard let hello = exchanges[slot].tls else { return certificate == nil }
        guard let certificate, hello.accepts(certificate) else {
            noteTLSFailure(slot: slot)
            return false
        }
        exchanges[slot].tls = nil
        return true
    }

    /// The load's client took part in a failed handshake (its own ClientHello, not the gateway's).
    func noteTLSFailure(slot: Int) {
        if !exchanges[slot].helloFromGateway { exchanges[slot].tlsFailed = true }
    }

    /// A gateway about to send upstream: UpstreamTLSPolicy's TLS (verifying against its CA, or not
    /// at all without one), else plain.
    func prepareUpstreamTLS(id: UInt64, gateway: Int, cluster: String) {
        let slot = Int(id & 0xFF_FFFF)
        guard isLive(Int32(slot), id) else { return }
        switch sidecars[gateway].gatewayUpstreamSecurity(cluster: cluster) {
        case .plaintext:
            exchanges[slot].tls = nil
        case .tls(let ca, let client):
            let certificate = client.map { ModelledCertificate(certificatePEM: $0.certificatePEM, secret: secret(named: $0.secret)) }
            exchanges[slot].tls = TLSClientHello(sni: nil, trust: ca.map(TLSTrust.anchor) ?? .insecure, clientCertificate: certificate)
            exchanges[slot].helloFromGateway = true
        }
    }

    /// One datagram at its server: an app that echoes UDP on the port answers one datagram (status
    /// 200 in the report); anything else answers nothing (status 0, as `nc -u -w1` sees silence).
    /// UDP passes by the server's sidecar, which intercepts TCP only.
    func datagramAtServer(_ hop: Hop, server: Int, behavior: AppBehavior, port: Int) {
        var hop = hop
        guard behavior.echoesUDP(port: port), externalPorts[server]?.contains(port) ?? true else {
            return answer(hop, status: 0, by: .transport, closes: true, after: CostModel.lostMessageTimeout)
        }
        pods[server].app.received += 1
        hop.body = behavior.bodyID
        answer(hop, status: 200, by: .app, closes: false, after: behavior.serviceTime)
    }

    /// Ends an exchange at the gateway with status 0, one round trip after it arrived.
    func failAtGateway(slot: Int, tls: Bool) {
        if tls { exchanges[slot].tlsFailed = true }
        exchanges[slot].finalHead = HTTPResponseHead(status: 0)
        queue.schedule(.atClient(slot: Int32(slot), id: exchanges[slot].id), at: now + sampleLatency())
    }

    /// The handshake at a gateway listener: what the engine chooses for the client's SNI, then the
    /// client's verdict on the certificate and the listener's on the client's.
    /// A plain client on a plain port goes on as it came (its listener chosen by its Host later).
    func gatewayHandshake(slot: Int, gateway: Int, port: Int) -> GatewayHandshake {
        let listener = sidecars[gateway].gatewayListenerProtocol(port: port)
        let tlsPort = listener == .https || listener == .tls
        guard let hello = exchanges[slot].tls else { return tlsPort ? .failed(tls: false) : .plain }
        guard tlsPort else { return .failed(tls: true) }
        switch sidecars[gateway].gatewayTLS(listenerPort: port, sni: hello.sni) {
        case .plaintext, .reject:
            return .failed(tls: true)
        case .passthrough:
            return .passthrough(sni: hello.sni)
        case .terminate(let certificate, let clientCA):
            let presented = ModelledCertificate(certificatePEM: certificate.certificatePEM, secret: secret(named: certificate.secret))
            guard hello.accepts(presented), hello.satisfies(clientCA: clientCA) else { return .failed(tls: true) }
            exchanges[slot].tls = nil
            return .terminated(sni: hello.sni)
        }
    }
}
