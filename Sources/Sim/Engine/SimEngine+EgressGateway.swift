import MeshControl
import MeshModel
import MeshProxy

/// The egress gateway in the virtual cluster (guides 3.8.2, S-15): the pods behind a Service an
/// EgressGateway names (the guide's Deployment `fsm/fsm-egress-gateway`) stay outside the mesh
/// and run the sidecar engine in its egress-gateway role (`ProxyConfig.egressGateway`, the config
/// `fsm egress-gateway` runs), on the Service's target port. Meshed sidecars send their egress
/// there as the engine says (`Sidecar.egressGatewayTarget`): an HTTP request goes to the gateway,
/// whose engine serves it as its own app's request to the tunnel target (a passthrough cluster,
/// `EgressRefusedRanges` checked), and its answer comes back to the sidecar; a TCP connection's
/// CONNECT is the gateway engine's `outboundConnection` to the target, then the bytes go on to the
/// destination. Counters on both sides (`outbound.egress_gateway` on the sidecar,
/// `outbound.egress_passthrough` and the `egress|` clusters on the gateway); the gateway pod is
/// listed among the proxies. A crashed gateway (`sidecar-crash` on its pod: the gateway process is
/// the pod's only container) refuses connections: the sidecar's egress fails with UF.
extension SimEngine {
    /// The tunnel port when `pod` is an egress gateway pod: unmeshed, selected by a Service an
    /// EgressGateway names; the target port of that Service's first port, as the controller tells
    /// the sidecars (DECISIONS 194).
    func egressGatewayPort(of pod: Int) -> Int? {
        guard !egressGatewayServices.isEmpty, !pods[pod].hasSidecar else { return nil }
        for name in egressGatewayServices.sorted() {
            guard let index = serviceIndex[name], !services[index].deleted, services[index].namespace == pods[pod].key.namespace,
                  labelsMatch(services[index].resource.selector, pods[pod].labels), let port = services[index].resource.ports.first else { continue }
            switch port.targetPort {
            case .int(let value)?: return value
            case .string(let named)?: return pods[pod].resource.containerPortsByName[named] ?? port.port
            case nil: return port.port
            }
        }
        return nil
    }

    /// Starts the gateway role on a pod that has one (at its creation and its restart).
    func startEgressGateway(_ pod: Int) {
        guard let port = egressGatewayPort(of: pod) else { return }
        egressGatewayPorts[pod] = port
        let key = pods[pod].key
        let config = ProxyConfig.egressGateway(namespace: key.namespace, name: deployments[pods[pod].deployment].name, listenAddress: pods[pod].ipText)
        meters[pod].everMeshed = true
        applyConfig(config, to: pod)
    }

    /// The gateway pod `endpoint` names at its tunnel port; nil for any other destination.
    func egressGateway(at endpoint: SocketAddress) -> Int? {
        guard !egressGatewayPorts.isEmpty, let ip = IPv4.parse(endpoint.ip), let pod = podByIP[ip], egressGatewayPorts[pod] == endpoint.port else { return nil }
        return pod
    }

    /// A sidecar sends an exchange on an egress cluster: through the gateway, remember where to.
    func noteEgressTunnel(id: UInt64, from pod: Int, cluster: String) {
        guard !egressGatewayPorts.isEmpty, let target = sidecars[pod].egressGatewayTarget(ofCluster: cluster) else { return }
        egressTunnelTargets[id] = target
    }

    // MARK: - HTTP

    /// An HTTP request reached the gateway's tunnel port: the gateway's engine serves it as a
    /// request of its own to the tunnel target (nothing named: the gateway's own address, which
    /// it refuses), on an exchange whose answer goes back on the sidecar's hop.
    func egressGatewayRequest(_ hop: Hop, gateway: Int) {
        let slot = Int(hop.slot)
        let target = egressTunnelTargets.removeValue(forKey: hop.id) ?? SocketAddress(ip: pods[gateway].ipText, port: Int(hop.port))
        let child = issueHTTP(origin: .egressTunnel, client: gateway, head: exchanges[slot].head, destination: target, measuredFrom: now,
                              bodyBytes: exchanges[slot].bodyBytes, throughSidecar: true)
        egressTunnelParents[child] = hop
    }

    /// The gateway's exchange is over: its answer crosses back to the sidecar that sent it. An
    /// answer from the destination's app is that app's (its headers, counted as its backend); one
    /// the gateway made itself (no route) is the gateway's; none (refused, reset) resets the hop.
    func egressTunnelFinished(_ exchange: Exchange, head: HTTPResponseHead, server: Int, body: Int32) {
        guard let parent = egressTunnelParents.removeValue(forKey: exchange.id), isLive(parent.slot, parent.id) else { return }
        let gateway = Int(exchange.client)
        var reply = parent
        reply.status = Int32(head.status)
        reply.connectionOwner = exchanges[Int(parent.slot)].client
        reply.closesConnection = head.status == 0
        if server >= 0, head.status != 0 {
            reply.answeredBy = .app
            reply.server = Int32(server)
            reply.body = body
        } else {
            reply.answeredBy = head.status == 0 ? .transport : .serverSidecar
            reply.body = -1
            exchanges[Int(parent.slot)].inboundLocalHead = head
            exchanges[Int(parent.slot)].inboundFlags = exchange.finalFlags
        }
        let client = Int(reply.connectionOwner)
        guard let oneWay = transit(from: gateway, to: client) else {
            reply.status = 0
            reply.answeredBy = .transport
            reply.closesConnection = true
            queue.schedule(.atClientSidecarResponse(reply), at: now + CostModel.lostMessageTimeout)
            return
        }
        queue.schedule(.atClientSidecarResponse(reply), at: now + CostModel.localHop + oneWay)
    }

    // MARK: - TCP

    /// A sidecar's TCP egress reached the gateway (its CONNECT): the gateway's engine decides
    /// for the tunnel target and the connection goes on to the destination it dials. nil when
    /// the gateway refuses (the CONNECT fails: the app's connection ends).
    func egressGatewayConnect(gateway: Int, target: SocketAddress) -> (pod: Int, port: Int, connection: UInt64)? {
        chargeCPU(gateway, CostModel.newConnectionCPU + CostModel.tcpCallCPU)
        let connection = nextConnectionID()
        let decision = sidecars[gateway].outboundConnection(ConnectionID(connection), destination: target, now: MeshInstant(nanoseconds: now),
                                                            random: &sidecarRandom[gateway])
        guard case .connect(_, let endpoint) = decision, let ip = IPv4.parse(endpoint.ip) else { return nil }
        connectionOpened(gateway)
        guard let pick = kubeProxyPick(ip: ip, port: endpoint.port) else { return (-1, endpoint.port, connection) }
        return (pick.pod, pick.port, connection)
    }

    /// A worker's connection through the gateway is still carried: the gateway has not crashed or
    /// restarted since (true without a gateway).
    func egressTunnelHolds(_ state: LoadWorker) -> Bool {
        state.tcpGateway < 0 || (pods[state.tcpGateway].alive && pods[state.tcpGateway].incarnation == state.tcpGatewayIncarnation)
    }

    /// The tunnel through the gateway closed: the gateway forgets its connection.
    func egressGatewayClosed(gateway: Int, connection: UInt64) {
        guard connection != 0, pods[gateway].alive, !pods[gateway].sidecarDown else { return }
        sidecars[gateway].outboundConnectionClosed(ConnectionID(connection))
        connectionClosed(gateway)
    }
}

extension SimEngine {
    /// A `tcp://` load's connection the client's sidecar sends to the egress gateway: where the
    /// gateway connects it on to, or nil when the gateway is down (UF) or refuses the CONNECT.
    func tcpThroughEgressGateway(_ gateway: Int, cluster: String, client: Int, flags: inout ResponseFlags) -> (pod: Int, port: Int, connection: UInt64)? {
        guard pods[gateway].alive, !pods[gateway].sidecarDown else {
            flags = .upstreamConnectionFailure
            return nil
        }
        guard let target = sidecars[client].egressGatewayTarget(ofCluster: cluster) else { return nil }
        return egressGatewayConnect(gateway: gateway, target: target)
    }
}
