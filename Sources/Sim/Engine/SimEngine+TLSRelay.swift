import MeshModel
import MeshProxy

/// An `https://` request from a meshed pod to a destination outside the mesh: the sidecar cannot
/// read the TLS, so it decides the connection as raw TCP (`outboundConnection`, with the
/// ClientHello's server name, as the NIO shell reads it: DECISIONS 198) and relays the bytes; the
/// handshake is the client's with the server at the other end (a `tls-echo` host). Through the
/// egress gateway the gateway's CONNECT decides next. Refused: status 0 with the sidecar's flags;
/// a TLS failure too when the client's handshake had begun (curl's exit 35): the sidecar refused
/// after reading its ClientHello, or the gateway or the destination failed the connection the
/// sidecar had accepted. Refused at once, before any ClientHello, it is not one (curl's exit 7,
/// or 56 behind local mode's CONNECT: DECISIONS 229, 231). The relayed connection lasts one request
/// (as `curl -I` makes it).
extension SimEngine {
    struct TLSRelay {
        var client: Int
        var connection: UInt64
        var gateway = -1
        var gatewayConnection: UInt64 = 0
    }

    /// Whether an https:// load from a meshed pod is modelled: to an address no Service or pod of
    /// the cluster has (a mesh service would get the sidecars' mTLS around the TLS, not modelled).
    func relaysTLS(to destination: SocketAddress?) -> Bool {
        guard let destination, let ip = IPv4.parse(destination.ip) else { return true }
        if serviceByIP[ip] != nil { return false }
        if let pod = podByIP[ip] { return outsidePods.contains(pod) }
        return true
    }

    func relayTLS(slot: Int) {
        let client = Int(exchanges[slot].client)
        let connection = nextConnectionID()
        chargeCPU(client, CostModel.newConnectionCPU)
        // Where an `https` Egress rule names hosts on the port, the sidecar waits for the ClientHello.
        let afterHello = sidecars[client].outboundReadsServerName(to: exchanges[slot].destination)
        let decision = sidecars[client].outboundConnection(ConnectionID(connection), destination: exchanges[slot].destination,
                                                           serverName: exchanges[slot].tls?.sni, now: MeshInstant(nanoseconds: now), random: &sidecarRandom[client])
        guard case .connect(let cluster, let endpoint) = decision else {
            return refuseTLSRelay(slot: slot, flags: decision.responseFlags, relay: nil, handshakeCut: afterHello)
        }
        connectionOpened(client)
        var relay = TLSRelay(client: client, connection: connection)
        var destination = endpoint
        if Sidecar.isEgressCluster(cluster), let gateway = egressGateway(at: endpoint) {
            var flags: ResponseFlags = []
            guard let via = tcpThroughEgressGateway(gateway, cluster: cluster, client: client, flags: &flags) else {
                return refuseTLSRelay(slot: slot, flags: flags, relay: relay, handshakeCut: true)
            }
            (relay.gateway, relay.gatewayConnection) = (gateway, via.connection)
            // The gateway dialled an address no pod has: the connect times out.
            guard via.pod >= 0 else { return refuseTLSRelay(slot: slot, flags: [], relay: relay, handshakeCut: true, after: CostModel.lostMessageTimeout) }
            destination = SocketAddress(ip: pods[via.pod].ipText, port: via.port)
        }
        tlsRelays[exchanges[slot].id] = relay
        exchanges[slot].destination = destination
        sendDirect(slot: slot)
    }

    /// `handshakeCut`: the client's ClientHello had gone out on the connection now closed.
    private func refuseTLSRelay(slot: Int, flags: ResponseFlags, relay: TLSRelay?, handshakeCut: Bool, after delay: Int64 = CostModel.localHop) {
        if let relay { closeTLSRelay(relay) }
        if handshakeCut { noteTLSFailure(slot: slot) }
        exchanges[slot].finalFlags = flags
        exchanges[slot].finalHead = HTTPResponseHead(status: 0)
        queue.schedule(.atClient(slot: Int32(slot), id: exchanges[slot].id), at: now + delay)
    }

    /// The relayed exchange is over: the sidecar (and the gateway) forget its connection.
    func closeTLSRelay(_ relay: TLSRelay) {
        if relay.gateway >= 0 { egressGatewayClosed(gateway: relay.gateway, connection: relay.gatewayConnection) }
        guard pods[relay.client].alive, !pods[relay.client].sidecarDown else { return }
        sidecars[relay.client].outboundConnectionClosed(ConnectionID(relay.connection))
        connectionClosed(relay.client)
    }
}
