import MeshControl
import MeshModel
import MeshProxy

/// Raw TCP loads (`tcp://`): like fortio's tcp runner, each call writes 24 bytes and reads the
/// echo. A call is ok (status 200 in the results) when the whole echo came back, and failed
/// (status 0) when the connection was refused, reset or closed before the echo (a short read).
/// A worker keeps its connection across calls and opens a new one after a failure.
extension SimEngine {
    static let tcpCallBytes = 24

    func tcpCall(_ index: Int, worker: Int) {
        let client = loads[index].client
        loads[index].workers[worker].tcpGeneration &+= 1
        var hop = TCPHop(load: Int32(index), worker: Int32(worker), generation: loads[index].workers[worker].tcpGeneration)
        hop.closes = true
        // Past the sidecar when the pod's capture excludes the destination.
        let clientMeshed = pods[client].hasSidecar && !bypassesSidecar(client, to: loads[index].destination)
        let local = clientMeshed ? CostModel.localHop : 0
        guard pods[client].alive, !pods[client].sidecarDown, let destination = loads[index].destination else {
            queue.schedule(.tcpReply(hop), at: now + CostModel.localHop)
            return
        }
        captureTCPCall(load: index, worker: worker)
        let state = loads[index].workers[worker]
        if state.tcpOpen, pods[state.tcpServer].alive, pods[state.tcpServer].incarnation == state.tcpServerIncarnation, egressTunnelHolds(state) {
            var cpu: Int64 = 0
            if clientMeshed {
                cpu = CostModel.tcpCallCPU + CostModel.bodyCPU(bytes: SimEngine.tcpCallBytes)
                chargeCPU(client, cpu)
            }
            guard let oneWay = transit(from: client, to: state.tcpServer) else {
                queue.schedule(.tcpReply(hop), at: now + CostModel.lostMessageTimeout)
                return
            }
            hop.closes = false
            queue.schedule(.tcpAtServer(hop), at: now + local + cpu + oneWay)
            return
        }
        tcpClose(index, worker: worker)
        var server = -1, port = 0
        var plaintext = false
        var clientConnection: UInt64 = 0
        var cpu: Int64 = 0
        var tunnel: (gateway: Int, connection: UInt64)?
        if clientMeshed {
            clientConnection = nextConnectionID()
            cpu = CostModel.newConnectionCPU + CostModel.tcpCallCPU
            chargeCPU(client, cpu)
            let decision = sidecars[client].outboundConnection(ConnectionID(clientConnection), destination: destination,
                                                               now: MeshInstant(nanoseconds: now), random: &sidecarRandom[client])
            switch decision {
            case .reject:
                hop.flags = decision.responseFlags
                sidecars[client].outboundConnectionClosed(ConnectionID(clientConnection))
                queue.schedule(.tcpReply(hop), at: now + local + cpu)
                return
            case .connect(let cluster, let endpoint):
                server = IPv4.parse(endpoint.ip).flatMap { podByIP[$0] } ?? -1
                port = endpoint.port
                plaintext = Sidecar.isEgressCluster(cluster)
                // Passthrough to a service address goes on through kube-proxy, as the app's own connection would.
                if plaintext, server < 0, let ip = IPv4.parse(endpoint.ip), let pick = kubeProxyPick(ip: ip, port: endpoint.port) {
                    server = pick.pod
                    port = pick.port
                }
                if plaintext, let gateway = egressGateway(at: endpoint) {
                    // Through the egress gateway: its CONNECT decides, then the bytes go on from there.
                    guard let relay = tcpThroughEgressGateway(gateway, cluster: cluster, client: client, flags: &hop.flags) else {
                        sidecars[client].outboundConnectionClosed(ConnectionID(clientConnection))
                        queue.schedule(.tcpReply(hop), at: now + local + cpu + 2 * sampleLatency())
                        return
                    }
                    (server, port) = (relay.pod, relay.port)
                    tunnel = (gateway, relay.connection)
                }
                connectionOpened(client)
            }
        } else if let gateway = gatewayPod(at: destination) {
            // From outside to a gateway: its L4 listener relays the bytes to the endpoint it picks.
            guard let pick = gatewayRelayPick(gateway: gateway, destination: destination, client: client) else {
                queue.schedule(.tcpReply(hop), at: now + CostModel.localHop)
                return
            }
            server = pick.pod
            port = pick.port
        } else if let ip = IPv4.parse(destination.ip), let pick = kubeProxyPick(ip: ip, port: destination.port) {
            server = pick.pod
            port = pick.port
        } else {
            queue.schedule(.tcpReply(hop), at: now + CostModel.localHop)
            return
        }
        guard server >= 0 else {
            // The sidecar chose an address no pod has: the connect times out.
            if let tunnel { egressGatewayClosed(gateway: tunnel.gateway, connection: tunnel.connection) }
            if clientConnection != 0 {
                sidecars[client].outboundConnectionClosed(ConnectionID(clientConnection))
                connectionClosed(client)
            }
            queue.schedule(.tcpReply(hop), at: now + local + cpu + CostModel.lostMessageTimeout)
            return
        }
        loads[index].workers[worker].tcpOpen = true
        loads[index].workers[worker].tcpAccepted = false
        loads[index].workers[worker].tcpServer = server
        loads[index].workers[worker].tcpServerIncarnation = pods[server].incarnation
        loads[index].workers[worker].tcpServerPort = port
        loads[index].workers[worker].tcpClientConnection = clientConnection
        loads[index].workers[worker].tcpPlaintext = plaintext || !clientMeshed
        loads[index].workers[worker].tcpGateway = tunnel?.gateway ?? -1
        loads[index].workers[worker].tcpGatewayConnection = tunnel?.connection ?? 0
        loads[index].workers[worker].tcpGatewayIncarnation = tunnel.map { pods[$0.gateway].incarnation } ?? 0
        loads[index].workers[worker].tcpServerConnection = nextConnectionID()
        guard pods[server].alive, !pods[server].sidecarDown else {
            queue.schedule(.tcpReply(hop), at: now + local + cpu + 2 * sampleLatency())
            return
        }
        guard let oneWay = transit(from: client, to: server) else {
            queue.schedule(.tcpReply(hop), at: now + local + cpu + CostModel.lostMessageTimeout)
            return
        }
        hop.closes = false
        // The handshake takes a round trip, then the 24 bytes travel.
        queue.schedule(.tcpAtServer(hop), at: now + local + cpu + 2 * sampleLatency() + oneWay)
    }

    func tcpAtServer(_ hop: TCPHop) {
        let index = Int(hop.load), worker = Int(hop.worker)
        var reply = hop
        reply.closes = true
        let state = loads[index].workers[worker]
        guard state.tcpGeneration == hop.generation, state.tcpOpen else {
            return tcpAnswer(reply, server: state.tcpServer, after: 0)
        }
        let client = loads[index].client
        let server = state.tcpServer
        guard pods[server].alive, pods[server].incarnation == state.tcpServerIncarnation else {
            return tcpAnswer(reply, server: server, after: 0)
        }
        let behavior = deployments[pods[server].deployment].app
        let serverMeshed = pods[server].hasSidecar
        var cpu: Int64 = 0
        if !state.tcpAccepted {
            if serverMeshed {
                cpu += CostModel.newConnectionCPU
                chargeCPU(server, CostModel.newConnectionCPU)
                let decision = sidecars[server].inboundConnection(
                    ConnectionID(state.tcpServerConnection), port: state.tcpServerPort,
                    source: SocketAddress(ip: pods[client].ipText, port: 40000 + Int(state.tcpServerConnection % 20000)),
                    peerIdentity: pods[client].hasSidecar && !state.tcpPlaintext ? pods[client].identity : nil, now: MeshInstant(nanoseconds: now))
                if case .close = decision {
                    reply.flags = decision.responseFlags
                    return tcpAnswer(reply, server: server, after: cpu)
                }
                connectionOpened(server)
            }
            loads[index].workers[worker].tcpAccepted = true
            guard appListens(server, port: state.tcpServerPort) else { return tcpAnswer(reply, server: server, after: cpu) }
        }
        if serverMeshed {
            let relay = CostModel.tcpCallCPU + CostModel.bodyCPU(bytes: SimEngine.tcpCallBytes)
            chargeCPU(server, relay)
            cpu += relay + 2 * CostModel.localHop
        }
        pods[server].app.received += 1
        guard behavior.echoesTCP(port: state.tcpServerPort) else {
            // The app read the bytes but answers nothing a TCP echo client accepts: short read.
            return tcpAnswer(reply, server: server, after: cpu + behavior.serviceTime)
        }
        reply.ok = true
        reply.closes = false
        tcpAnswer(reply, server: server, after: cpu + behavior.serviceTime)
    }

    private func tcpAnswer(_ hop: TCPHop, server: Int, after extra: Int64) {
        let client = loads[Int(hop.load)].client
        var hop = hop
        var delay = extra + (pods[client].hasSidecar ? CostModel.localHop : 0)
        if server >= 0, let oneWay = transit(from: server, to: client) {
            delay += oneWay
        } else {
            hop.ok = false
            hop.closes = true
            delay = CostModel.lostMessageTimeout
        }
        queue.schedule(.tcpReply(hop), at: now + delay)
    }

    func tcpReply(_ hop: TCPHop) {
        let index = Int(hop.load), worker = Int(hop.worker)
        guard loads[index].workers[worker].tcpGeneration == hop.generation, loads[index].workers[worker].busy else { return }
        let server = loads[index].workers[worker].tcpServer
        if hop.closes || !hop.ok { tcpClose(index, worker: worker) }
        captureTCPReply(load: index, worker: worker, ok: hop.ok)
        loadCompleted(index, worker: worker, status: hop.ok ? 200 : 0, server: hop.ok ? server : -1, flags: hop.flags,
                      measuredFrom: loads[index].workers[worker].callMeasuredFrom)
    }

    /// Closes a worker's connection on both sidecars.
    func tcpClose(_ index: Int, worker: Int) {
        let state = loads[index].workers[worker]
        guard state.tcpOpen else { return }
        loads[index].workers[worker].tcpOpen = false
        let client = loads[index].client
        if state.tcpClientConnection != 0, pods[client].alive, pods[client].hasSidecar {
            sidecars[client].outboundConnectionClosed(ConnectionID(state.tcpClientConnection))
            connectionClosed(client)
        }
        if state.tcpGateway >= 0, egressTunnelHolds(state) { egressGatewayClosed(gateway: state.tcpGateway, connection: state.tcpGatewayConnection) }
        let server = state.tcpServer
        if state.tcpAccepted, server >= 0, pods[server].alive, pods[server].incarnation == state.tcpServerIncarnation, pods[server].hasSidecar {
            sidecars[server].inboundConnectionClosed(ConnectionID(state.tcpServerConnection))
            connectionClosed(server)
        }
    }
}
