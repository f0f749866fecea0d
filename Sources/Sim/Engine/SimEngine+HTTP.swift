import MeshControl
import MeshModel
import MeshProxy

/// The HTTP request path: app → own sidecar (outbound) → network → server sidecar (inbound) →
/// app model → back. Unmeshed clients go straight to a pod picked by kube-proxy.
extension SimEngine {
    // MARK: - Exchanges

    /// What a free slot holds: no exchange (id 0 is never live).
    static var vacantExchange: Exchange { Exchange(head: HTTPRequestHead(authority: ""), destination: SocketAddress(ip: "", port: 0)) }

    private func allocateSlot() -> Int {
        if let free = freeSlots.popLast() { return Int(free) }
        exchanges.append(SimEngine.vacantExchange)
        return exchanges.count - 1
    }

    @inline(__always)
    func isLive(_ slot: Int32, _ id: UInt64) -> Bool {
        Int(slot) < exchanges.count && exchanges[Int(slot)].id == id
    }

    /// Starts an exchange. `destination` nil: the name did not resolve (the client fails at once).
    /// Never completes synchronously, so a client may issue again from its completion handler.
    /// `throughSidecar`: the client's engine serves it though the pod is not meshed (an egress
    /// gateway's own leg). Returns the exchange's id. `head` is consumed: the new exchange takes
    /// it without a copy.
    @discardableResult
    func issueHTTP(origin: ExchangeOrigin, client: Int, head: consuming HTTPRequestHead, destination: SocketAddress?, measuredFrom: Int64, bodyBytes: Int = 0,
                   tls: TLSClientHello? = nil, udp: Bool = false, throughSidecar: Bool = false) -> UInt64 {
        let slot = allocateSlot()
        exchangeSerial += 1
        let id = exchangeSerial << 24 | UInt64(slot)
        // One store of the whole exchange (every other field as a new one has it): a store per
        // field checked the table's uniqueness and bounds twenty times.
        exchanges[slot] = Exchange(id: id, origin: origin, client: Int32(client), head: head, destination: destination ?? SocketAddress(ip: "", port: 0),
                                   measuredFrom: measuredFrom, bodyBytes: bodyBytes, tls: tls, udp: udp)
        // A crashed sidecar refuses its app's connection on the outbound listener.
        guard destination != nil, pods[client].alive, !pods[client].sidecarDown else {
            exchanges[slot].finalHead = HTTPResponseHead(status: 0)
            queue.schedule(.atClient(slot: Int32(slot), id: id), at: now + CostModel.localHop)
            return id
        }
        captureRequest(slot: slot)
        if let gateway = gatewayPod(at: destination!) {
            toGateway(slot: slot, gateway: gateway)
        } else if pods[client].hasSidecar, bypassesSidecar(client, to: destination) {
            sendDirect(slot: slot)
        } else if pods[client].hasSidecar, tls != nil {
            relayTLS(slot: slot)
        } else if pods[client].hasSidecar || throughSidecar, !udp {
            queue.schedule(.atClientSidecar(slot: Int32(slot), id: id), at: now + CostModel.localHop)
        } else {
            sendDirect(slot: slot)
        }
        return id
    }

    /// Hands the final response to whoever issued the exchange and frees the slot.
    func finish(slot: Int, head: HTTPResponseHead, server: Int, body: Int32 = -1) {
        let id = exchanges[slot].id
        cancelRequestTimer(slot: slot)
        if !tlsRelays.isEmpty, let relay = tlsRelays.removeValue(forKey: id) { closeTLSRelay(relay) }
        // A tunnel target the gateway never took (the gateway refused the connection, the hop was lost).
        if !egressTunnelTargets.isEmpty { egressTunnelTargets[id] = nil }
        // The exchange is moved out of its slot, not copied; the slot keeps a placeholder (id 0,
        // never live) until it is reused.
        var exchange = SimEngine.vacantExchange
        swap(&exchange, &exchanges[slot])
        freeSlots.append(Int32(slot))
        captureResponse(exchange, head: head, body: body)
        noteTraced(exchange)
        switch exchange.origin {
        case .load(let load, let worker):
            loadCompleted(Int(load), worker: Int(worker), status: head.status, server: server, body: body, flags: exchange.finalFlags, measuredFrom: exchange.measuredFrom,
                          head: head, tlsFailed: exchange.tlsFailed)
        case .clientLoop(let pod, let loop, let buy):
            clientLoopResponse(pod: Int(pod), loop: Int(loop), buy: buy, head: head)
        case .fireAndForget:
            break
        case .egressTunnel:
            egressTunnelFinished(exchange, head: head, server: server, body: body)
        case .healthProbe(let gateway, let probe, let tcp):
            healthProbeFinished(gateway: Int(gateway), probe: HealthProbeID(probe), tcp: tcp, head: head, body: body)
        }
    }

    func atClient(slot: Int32, id: UInt64) {
        guard isLive(slot, id) else { return }
        // Fields read in place (`finish` takes its own copy of the exchange once).
        let index = Int(slot)
        finish(slot: index, head: exchanges[index].finalHead ?? HTTPResponseHead(status: 0), server: Int(exchanges[index].finalServer), body: exchanges[index].finalBody)
    }

    // MARK: - Client sidecar

    func atClientSidecar(slot: Int32, id: UInt64) {
        guard isLive(slot, id) else { return }
        let client = Int(exchanges[Int(slot)].client)
        var actions = takeActionList()
        withRequestHead(ofSlot: Int(slot)) { head in
            sidecars[client].outboundRequest(ExchangeID(id), head: head, destination: exchanges[Int(slot)].destination, now: MeshInstant(nanoseconds: now),
                                             random: &sidecarRandom[client], into: &actions)
        }
        performKept(&actions, at: client)
    }

    /// Lends exchange `slot`'s request head to `body` without copying it. Passed along as
    /// `exchanges[slot].head`, it was copied (its strings and headers retained, then released,
    /// at every sidecar call), since a class's table may change during any call; moved out for
    /// the call and back after, it is not. `body` must not read the exchange's head itself.
    @inline(__always)
    func withRequestHead<Result>(ofSlot slot: Int, _ body: (HTTPRequestHead) -> Result) -> Result {
        var head = HTTPRequestHead(method: "", path: "", authority: "")
        swap(&head, &exchanges[slot].head)
        defer { swap(&head, &exchanges[slot].head) }
        return body(head)
    }

    /// The engine's kept action list, empty, for a sidecar call to append to; `performKept`
    /// gives it back. A call made while another's list is out (a nested one) gets a new list.
    func takeActionList() -> [OutboundHTTPAction] {
        var list: [OutboundHTTPAction] = []
        swap(&list, &actionList)
        return list
    }

    /// Carries out a kept list's actions, then empties it (keeping its room) and keeps it again.
    func performKept(_ actions: inout [OutboundHTTPAction], at pod: Int) {
        perform(actions, at: pod)
        actions.removeAll(keepingCapacity: true)
        swap(&actions, &actionList)
    }

    func perform(_ actions: [OutboundHTTPAction], at pod: Int) {
        for action in actions {
            switch action {
            case .send(let id, let attempt, let cluster, let endpoint, let connection, let newConnection, _):
                // One lookup, and none in a mesh without gateways (a hash per send showed in the profile).
                let fromGateway = !gatewayOfPod.isEmpty && gatewayOfPod[pod] != nil
                if fromGateway { prepareUpstreamTLS(id: id.rawValue, gateway: pod, cluster: cluster) }
                let egress = Sidecar.isEgressCluster(cluster)
                if egress { noteEgressTunnel(id: id.rawValue, from: pod, cluster: cluster) }
                sendUpstream(from: pod, id: id.rawValue, attempt: attempt, endpoint: endpoint, connection: connection.rawValue, newConnection: newConnection,
                             egress: egress, plaintext: fromGateway)
            case .startTimer(.requestTimeout(let id), let after):
                startRequestTimer(id.rawValue, at: pod, after: after)
            case .cancelTimer(.requestTimeout(let id)):
                let slot = Int32(truncatingIfNeeded: id.rawValue & 0xFF_FFFF)
                if isLive(slot, id.rawValue) { cancelRequestTimer(slot: Int(slot)) }
            case .startTimer(.connectTimeout(let connection), let after):
                startConnectTimer(connection.rawValue, at: pod, after: after)
            case .cancelTimer(.connectTimeout(let connection)):
                cancelConnectTimer(SimEngine.upstreamKey(client: pod, connection: connection.rawValue))
            case .cancelTimer:
                // Other timers are left to fire; the engine ignores them.
                break
            case .startTimer(let timer, let after):
                let index: Int32
                if let free = freeTimers.popLast() {
                    index = free
                    timers[Int(index)] = timer
                } else {
                    index = Int32(timers.count)
                    timers.append(timer)
                }
                queue.schedule(.proxyTimer(pod: Int32(pod), incarnation: pods[pod].incarnation, timer: index), at: now + max(0, after.nanoseconds))
            case .respond(let id, let head, let local, let flags):
                let slot = Int32(truncatingIfNeeded: id.rawValue & 0xFF_FFFF)
                guard isLive(slot, id.rawValue) else { continue }
                exchanges[Int(slot)].finalFlags = local == nil ? flags.union(exchanges[Int(slot)].lastServerFlags) : flags
                if local != nil { chargeCPU(pod, CostModel.httpRequestCPU) }
                // A local answer to a gRPC call is trailers-only, as the NIO shells write it (DECISIONS 22).
                exchanges[Int(slot)].finalHead = local != nil && head.status > 0 && head.status != 200
                    && GRPCLocalReply.isGRPC(contentType: exchanges[Int(slot)].head.header("content-type")) ? GRPCLocalReply.rewrite(head) : head
                exchanges[Int(slot)].finalServer = local == nil ? exchanges[Int(slot)].lastServer : -1
                exchanges[Int(slot)].finalBody = local == nil ? exchanges[Int(slot)].lastBody : -1
                // A gateway's answer crosses the network back to its outside client.
                let back = exchanges[Int(slot)].gatewayClient == nil ? CostModel.localHop : sampleLatency()
                queue.schedule(.atClient(slot: slot, id: id.rawValue), at: now + back)
            case .closeUpstream(let connection):
                closeUpstream(client: pod, connection: connection.rawValue)
            case .setRequestHeaders(let id, let headers):
                let slot = Int32(truncatingIfNeeded: id.rawValue & 0xFF_FFFF)
                guard isLive(slot, id.rawValue) else { continue }
                exchanges[Int(slot)].head.headers.removeAll { header in headers.contains { $0.name.lowercased() == header.name.lowercased() } }
                exchanges[Int(slot)].head.headers += headers
            case .rewriteRequest(let id, let head):
                let slot = Int32(truncatingIfNeeded: id.rawValue & 0xFF_FFFF)
                guard isLive(slot, id.rawValue) else { continue }
                exchanges[Int(slot)].head = head
            case .mirror(let id, _, let endpoint, let head):
                // A copy the gateway sends on its own connection; its answer is dropped.
                let slot = Int32(truncatingIfNeeded: id.rawValue & 0xFF_FFFF)
                guard isLive(slot, id.rawValue) else { continue }
                issueHTTP(origin: .fireAndForget, client: pod, head: head, destination: endpoint, measuredFrom: now, bodyBytes: exchanges[Int(slot)].bodyBytes)
            case .healthProbe(let probe):
                sendHealthProbe(probe, from: pod)
            }
        }
        spanLog.take(from: &sidecars[pod])
    }

    /// `egress`: a passthrough to the original destination, in plain (no mesh identity), through
    /// kube-proxy when the destination is a service address.
    /// `plaintext`: a gateway's send, in plain to the endpoint (the gateway is not in the mesh).
    private func sendUpstream(from client: Int, id: UInt64, attempt: Int, endpoint: SocketAddress, connection: UInt64, newConnection: Bool, egress: Bool = false,
                              plaintext: Bool = false) {
        let slot = Int32(truncatingIfNeeded: id & 0xFF_FFFF)
        guard isLive(slot, id) else { return }
        let cpu = CostModel.httpRequestCPU + CostModel.bodyCPU(bytes: exchanges[Int(slot)].bodyBytes) + (newConnection ? CostModel.newConnectionCPU : 0)
        chargeCPU(client, cpu)
        var endpoint = endpoint
        if egress, let ip = IPv4.parse(endpoint.ip), let pick = kubeProxyPick(ip: ip, port: endpoint.port) {
            endpoint = SocketAddress(ip: pods[pick.pod].ipText, port: pick.port)
        }
        let server = IPv4.parse(endpoint.ip).flatMap { podByIP[$0] } ?? -1
        let key = SimEngine.upstreamKey(client: client, connection: connection)
        if newConnection {
            if upstreamConnections[key] == nil { connectionOpened(client) }
            upstreamConnections[key] = UpstreamConnection(server: Int32(server), serverIncarnation: server >= 0 ? pods[server].incarnation : 0)
        }
        var hop = Hop(slot: slot, attempt: Int32(attempt), id: id, server: Int32(server),
                      serverIncarnation: server >= 0 ? pods[server].incarnation : 0, connection: connection, port: Int32(endpoint.port))
        hop.connectionOwner = Int32(client)
        hop.closesConnection = true
        hop.opensConnection = newConnection
        hop.plaintext = egress || plaintext
        guard server >= 0 else {
            // No such address: a connect gets no answer and the engine's connect timeout ends it.
            if newConnection { return }
            queue.schedule(.atClientSidecarResponse(hop), at: now + cpu + CostModel.lostMessageTimeout)
            return
        }
        let pooledToOldIncarnation = upstreamConnections[key].map { $0.serverIncarnation != pods[server].incarnation } ?? false
        if !pods[server].alive || pods[server].sidecarDown || pooledToOldIncarnation {
            // Refused (a new connection) or reset (a pooled one to a restarted peer): known after one round trip.
            hop.connectFailed = newConnection
            queue.schedule(.atClientSidecarResponse(hop), at: now + cpu + 2 * sampleLatency())
            return
        }
        guard let oneWay = transit(from: client, to: server) else {
            // A lost handshake leaves the connect to the engine's connect timeout.
            if newConnection { return }
            queue.schedule(.atClientSidecarResponse(hop), at: now + cpu + CostModel.lostMessageTimeout)
            return
        }
        hop.closesConnection = false
        captureUpstreamRequest(client: client, server: server, connection: connection, slot: Int(slot))
        let setup = newConnection ? 2 * sampleLatency() : 0
        queue.schedule(.atServer(hop), at: now + cpu + setup + oneWay)
    }

    func atClientSidecarResponse(_ hop: Hop) {
        let client: Int
        if isLive(hop.slot, hop.id) {
            client = Int(exchanges[Int(hop.slot)].client)
        } else if hop.closesConnection {
            // The exchange is over, but the sidecar still learns its connection is gone.
            client = Int(hop.connectionOwner)
        } else {
            return
        }
        guard client >= 0, pods[client].alive, !pods[client].sidecarDown else { return }
        if isLive(hop.slot, hop.id) {
            let head = responseHead(for: hop)
            exchanges[Int(hop.slot)].lastServer = hop.answeredBy == .app ? hop.server : -1
            exchanges[Int(hop.slot)].lastBody = hop.answeredBy == .app ? hop.body : -1
            exchanges[Int(hop.slot)].lastServerFlags = hop.answeredBy == .app ? [] : exchanges[Int(hop.slot)].inboundFlags
            captureUpstreamAnswer(hop, client: client, head: head)
            var actions = takeActionList()
            if hop.connectFailed {
                sidecars[client].upstreamConnectFailed(ExchangeID(hop.id), attempt: Int(hop.attempt), now: MeshInstant(nanoseconds: now), random: &sidecarRandom[client],
                                                       into: &actions)
            } else {
                sidecars[client].upstreamResponse(ExchangeID(hop.id), attempt: Int(hop.attempt), head: head, now: MeshInstant(nanoseconds: now), random: &sidecarRandom[client],
                                                  into: &actions)
            }
            performKept(&actions, at: client)
        }
        if hop.closesConnection {
            let key = SimEngine.upstreamKey(client: client, connection: hop.connection)
            guard upstreamConnections.removeValue(forKey: key) != nil else { return }
            connectionClosed(client)
            var actions = takeActionList()
            sidecars[client].upstreamConnectionLost(UpstreamConnectionID(hop.connection), now: MeshInstant(nanoseconds: now), random: &sidecarRandom[client], into: &actions)
            performKept(&actions, at: client)
        }
    }

    func responseHead(for hop: Hop) -> HTTPResponseHead {
        switch hop.answeredBy {
        case .app: HTTPResponseHead(status: Int(hop.status), headers: pods[Int(hop.server)].responseHeaders)
        case .serverSidecar: exchanges[Int(hop.slot)].inboundLocalHead ?? HTTPResponseHead(status: Int(hop.status))
        case .transport: HTTPResponseHead(status: 0)
        }
    }

    func closeUpstream(client: Int, connection: UInt64) {
        let key = SimEngine.upstreamKey(client: client, connection: connection)
        guard let upstream = upstreamConnections.removeValue(forKey: key) else { return }
        connectionClosed(client)
        let server = Int(upstream.server)
        captureUpstreamClosed(client: client, connection: connection, server: server)
        if upstream.acceptedByServer, server >= 0, pods[server].alive, pods[server].incarnation == upstream.serverIncarnation, pods[server].hasSidecar {
            sidecars[server].inboundConnectionClosed(ConnectionID(key))
            connectionClosed(server)
        }
    }

    func upstreamLost(pod: Int, incarnation: Int32, connection: UInt64) {
        guard pods[pod].alive, pods[pod].incarnation == incarnation else { return }
        let key = SimEngine.upstreamKey(client: pod, connection: connection)
        guard upstreamConnections.removeValue(forKey: key) != nil else { return }
        connectionClosed(pod)
        var actions = takeActionList()
        sidecars[pod].upstreamConnectionLost(UpstreamConnectionID(connection), now: MeshInstant(nanoseconds: now), random: &sidecarRandom[pod], into: &actions)
        performKept(&actions, at: pod)
    }

    func proxyTimerFired(pod: Int, incarnation: Int32, timer index: Int32) {
        let timer = timers[Int(index)]
        timers[Int(index)] = nil
        freeTimers.append(index)
        guard let timer, pods[pod].alive, pods[pod].incarnation == incarnation else { return }
        var actions = takeActionList()
        sidecars[pod].timerFired(timer, now: MeshInstant(nanoseconds: now), random: &sidecarRandom[pod], into: &actions)
        performKept(&actions, at: pod)
    }

    /// One queue entry per exchange, taken out again when the exchange ends in time: the
    /// timeouts of answered requests cost no event.
    private func startRequestTimer(_ id: UInt64, at pod: Int, after: MeshDuration) {
        let slot = Int32(truncatingIfNeeded: id & 0xFF_FFFF)
        guard isLive(slot, id) else { return }
        cancelRequestTimer(slot: Int(slot))
        let event = EngineEvent.requestTimeout(slot: slot, id: id, incarnation: pods[pod].incarnation)
        exchanges[Int(slot)].requestTimer = queue.schedule(event, at: now + max(0, after.nanoseconds))
    }

    func cancelRequestTimer(slot: Int) {
        guard let handle = exchanges[slot].requestTimer else { return }
        exchanges[slot].requestTimer = nil
        queue.cancel(handle)
    }

    func requestTimeoutFired(slot: Int32, id: UInt64, incarnation: Int32) {
        guard isLive(slot, id) else { return }
        exchanges[Int(slot)].requestTimer = nil
        let pod = Int(exchanges[Int(slot)].client)
        guard pods[pod].alive, !pods[pod].sidecarDown, pods[pod].incarnation == incarnation else { return }
        var actions = takeActionList()
        sidecars[pod].timerFired(.requestTimeout(ExchangeID(id)), now: MeshInstant(nanoseconds: now), random: &sidecarRandom[pod], into: &actions)
        performKept(&actions, at: pod)
    }

    private func startConnectTimer(_ connection: UInt64, at pod: Int, after: MeshDuration) {
        let key = SimEngine.upstreamKey(client: pod, connection: connection)
        cancelConnectTimer(key)
        let event = EngineEvent.connectTimeout(pod: Int32(pod), incarnation: pods[pod].incarnation, connection: connection)
        connectTimers[key] = queue.schedule(event, at: now + max(0, after.nanoseconds))
    }

    private func cancelConnectTimer(_ key: UInt64) {
        guard let handle = connectTimers.removeValue(forKey: key) else { return }
        queue.cancel(handle)
    }

    /// Reports a new connection open to its sidecar; false when the sidecar abandoned it.
    private func reportConnected(client: Int, connection: UInt64) -> Bool {
        let key = SimEngine.upstreamKey(client: client, connection: connection)
        guard let upstream = upstreamConnections[key] else { return false }
        guard !upstream.connected else { return true }
        upstreamConnections[key]?.connected = true
        guard pods[client].alive, !pods[client].sidecarDown else { return true }
        var actions = takeActionList()
        sidecars[client].upstreamConnected(UpstreamConnectionID(connection), into: &actions)
        performKept(&actions, at: client)
        return true
    }

    func connectTimeoutFired(pod: Int, incarnation: Int32, connection: UInt64) {
        connectTimers[SimEngine.upstreamKey(client: pod, connection: connection)] = nil
        guard pods[pod].alive, !pods[pod].sidecarDown, pods[pod].incarnation == incarnation else { return }
        var actions = takeActionList()
        sidecars[pod].timerFired(.connectTimeout(UpstreamConnectionID(connection)), now: MeshInstant(nanoseconds: now), random: &sidecarRandom[pod], into: &actions)
        performKept(&actions, at: pod)
    }

    // MARK: - Unmeshed client

    func sendDirect(slot: Int) {
        let client = Int(exchanges[slot].client)
        let id = exchanges[slot].id
        let destination = exchanges[slot].destination
        var hop = Hop(slot: Int32(slot), attempt: 0, id: id, server: -1, serverIncarnation: 0, connection: 0, port: Int32(destination.port))
        hop.closesConnection = true
        guard let ip = IPv4.parse(destination.ip), let pick = kubeProxyPick(ip: ip, port: destination.port) else {
            // No endpoints: kube-proxy rejects the connection.
            queue.schedule(.directResponse(hop), at: now + CostModel.localHop)
            return
        }
        let server = pick.pod
        hop.server = Int32(server)
        hop.serverIncarnation = pods[server].incarnation
        hop.port = Int32(pick.port)
        let key = client << 32 | server
        var isNew = false
        if let existing = directConnections[key], existing.incarnation == pods[server].incarnation {
            hop.connection = existing.id
        } else {
            isNew = true
            hop.connection = nextConnectionID()
            directConnections[key] = (hop.connection, pods[server].incarnation, false)
        }
        guard pods[server].alive, !pods[server].sidecarDown else {
            directConnections[key] = nil
            queue.schedule(.directResponse(hop), at: now + 2 * sampleLatency())
            return
        }
        guard let oneWay = transit(from: client, to: server) else {
            directConnections[key] = nil
            queue.schedule(.directResponse(hop), at: now + CostModel.lostMessageTimeout)
            return
        }
        hop.closesConnection = false
        queue.schedule(.atServer(hop), at: now + (isNew ? 2 * sampleLatency() : 0) + oneWay)
    }

    /// A new load from an unmeshed client is a new process (fortio, curl): it opens connections of
    /// its own instead of reusing an earlier load's, so they meet the server's border as it is now.
    func closeDirectConnections(of client: Int) {
        for key in directConnections.keys.sorted() where key >> 32 == client {
            if let connection = directConnections[key], connection.accepted {
                let server = key & 0xFFFF_FFFF
                if pods[server].alive, pods[server].hasSidecar, pods[server].incarnation == connection.incarnation {
                    sidecars[server].inboundConnectionClosed(ConnectionID(connection.id))
                    connectionClosed(server)
                }
            }
            directConnections[key] = nil
        }
    }

    func directResponse(_ hop: Hop) {
        guard isLive(hop.slot, hop.id) else { return }
        let client = Int(exchanges[Int(hop.slot)].client)
        if hop.closesConnection, hop.server >= 0 {
            let key = client << 32 | Int(hop.server)
            if directConnections[key]?.id == hop.connection { directConnections[key] = nil }
        }
        let byApp = hop.answeredBy == .app
        exchanges[Int(hop.slot)].finalFlags = byApp ? [] : exchanges[Int(hop.slot)].inboundFlags
        finish(slot: Int(hop.slot), head: responseHead(for: hop), server: byApp ? Int(hop.server) : -1, body: byApp ? hop.body : -1)
    }

    // MARK: - Server side

    func atServer(_ hop: Hop) {
        guard isLive(hop.slot, hop.id) else { return }
        var hop = hop
        let server = Int(hop.server)
        let client = Int(exchanges[Int(hop.slot)].client)
        let clientMeshed = hop.attempt > 0
        guard pods[server].alive, pods[server].incarnation == hop.serverIncarnation else {
            return answer(hop, status: 0, by: .transport, closes: true, after: 0)
        }
        exchanges[Int(hop.slot)].inboundFlags = []
        let behavior = deployments[pods[server].deployment].app
        let port = Int(hop.port)
        if exchanges[Int(hop.slot)].udp { return datagramAtServer(hop, server: server, behavior: behavior, port: port) }
        if hop.opensConnection {
            // The handshake is over: the client's sidecar learns its connection is open, unless
            // it gave up on the connect first (then the request never left).
            guard reportConnected(client: client, connection: hop.connection) else { return }
        }
        if !egressGatewayPorts.isEmpty, egressGatewayPorts[server] == port {
            guard !pods[server].sidecarDown else { return answer(hop, status: 0, by: .transport, closes: true, after: 0) }
            return egressGatewayRequest(hop, gateway: server)
        }
        if pods[server].hasSidecar {
            let peer = clientMeshed && !hop.plaintext ? pods[client].identity : nil
            let connectionKey = inboundConnectionKey(hop)
            let accepted = clientMeshed
                ? upstreamConnections[connectionKey]?.acceptedByServer ?? false
                : directConnections[client << 32 | server]?.accepted ?? false
            if !accepted {
                chargeCPU(server, CostModel.newConnectionCPU)
                let decision = sidecars[server].inboundConnection(
                    ConnectionID(connectionKey), port: port, source: SocketAddress(ip: pods[client].ipText, port: 40000 + Int(hop.connection % 20000)),
                    peerIdentity: peer, now: MeshInstant(nanoseconds: now))
                switch decision {
                case .accept:
                    connectionOpened(server)
                    if clientMeshed {
                        upstreamConnections[connectionKey]?.acceptedByServer = true
                    } else {
                        directConnections[client << 32 | server]?.accepted = true
                    }
                case .close:
                    exchanges[Int(hop.slot)].inboundFlags = decision.responseFlags
                    return answer(hop, status: 0, by: .transport, closes: true, after: CostModel.newConnectionCPU)
                }
            }
            let cpu = CostModel.httpRequestCPU + CostModel.bodyCPU(bytes: exchanges[Int(hop.slot)].bodyBytes)
            chargeCPU(server, cpu)
            let decision = withRequestHead(ofSlot: Int(hop.slot)) { head in
                sidecars[server].inboundRequest(head, connection: ConnectionID(connectionKey), port: port, peerIdentity: peer, now: MeshInstant(nanoseconds: now))
            }
            switch decision {
            case .forward:
                guard behavior.listens else {
                    // Nothing listens behind the sidecar: the engine says what the peer gets.
                    let head = sidecars[server].inboundAppUnreachable(port: port)
                    exchanges[Int(hop.slot)].inboundLocalHead = head
                    exchanges[Int(hop.slot)].inboundFlags = .upstreamConnectionFailure
                    return answer(hop, status: head.status, by: .serverSidecar, closes: false, after: cpu)
                }
                runApp(&hop, server: server, behavior: behavior, port: port, after: cpu + CostModel.localHop)
            case .respond(let head, _):
                exchanges[Int(hop.slot)].inboundLocalHead = head
                exchanges[Int(hop.slot)].inboundFlags = decision.responseFlags
                answer(hop, status: head.status, by: .serverSidecar, closes: false, after: cpu)
            }
        } else {
            guard appListens(server, port: port) else { return answer(hop, status: 0, by: .transport, closes: true, after: 0) }
            if !clientMeshed { directConnections[client << 32 | server]?.accepted = true }
            runApp(&hop, server: server, behavior: behavior, port: port, after: 0)
        }
    }

    private func runApp(_ hop: inout Hop, server: Int, behavior: AppBehavior, port: Int, after delay: Int64) {
        guard appHandshake(slot: Int(hop.slot), behavior: behavior) else { return answer(hop, status: 0, by: .transport, closes: true, after: delay) }
        // The head's fields and the origin read in place: a copy of the whole exchange per request
        // showed in the profile, then a copy of the head.
        let slot = Int(hop.slot)
        if case .load(let load, _) = exchanges[slot].origin, !loads[Int(load)].upstreamTally.isEmpty {
            let head = exchanges[slot].head
            loads[Int(load)].upstreamTally.record { head.pseudoOrHeader($0) }
        }
        let reply = pods[server].app.handle(behavior, method: exchanges[slot].head.method, path: exchanges[slot].head.path, port: port)
        hop.status = Int32(reply.status)
        hop.answeredBy = .app
        hop.body = reply.normalBody ? behavior.bodyID : -1
        hop.appStartedAt = now + delay
        queue.schedule(.appDone(hop), at: now + delay + reply.delay)
        if reply.restock { issueRestock(from: server, joining: exchanges[slot].head) }
    }

    func appDone(_ hop: Hop) {
        guard isLive(hop.slot, hop.id) else { return }
        let server = Int(hop.server)
        guard pods[server].alive, pods[server].incarnation == hop.serverIncarnation else {
            return answer(hop, status: 0, by: .transport, closes: true, after: 0)
        }
        var extra: Int64 = 0
        if pods[server].hasSidecar {
            sidecars[server].inboundResponse(port: Int(hop.port), status: Int(hop.status), latency: MeshDuration(nanoseconds: now - hop.appStartedAt),
                                             connection: ConnectionID(inboundConnectionKey(hop)), now: MeshInstant(nanoseconds: now))
            spanLog.take(from: &sidecars[server])
            extra = CostModel.localHop
        }
        answer(hop, status: Int(hop.status), by: .app, closes: false, after: extra)
    }

    /// Sends the answer of one attempt back to the client (its sidecar, or the client itself).
    func answer(_ hop: Hop, status: Int, by source: Hop.AnsweredBy, closes: Bool, after extra: Int64) {
        var hop = hop
        hop.status = Int32(status)
        hop.answeredBy = source
        if source != .app { hop.body = -1 }
        hop.closesConnection = closes
        let client = Int(exchanges[Int(hop.slot)].client)
        hop.connectionOwner = Int32(client)
        let server = Int(hop.server)
        let delay: Int64
        if let oneWay = transit(from: server, to: client) {
            delay = extra + oneWay
        } else {
            hop.status = 0
            hop.answeredBy = .transport
            hop.body = -1
            hop.closesConnection = true
            delay = CostModel.lostMessageTimeout
        }
        queue.schedule(hop.attempt > 0 ? .atClientSidecarResponse(hop) : .directResponse(hop), at: now + delay)
    }

    /// The key the server's sidecar knows a hop's downstream connection by: the client sidecar's
    /// upstream connection, or an unmeshed client's own.
    func inboundConnectionKey(_ hop: Hop) -> UInt64 {
        let client = Int(exchanges[Int(hop.slot)].client)
        return hop.attempt > 0 ? SimEngine.upstreamKey(client: client, connection: hop.connection) : hop.connection
    }

    /// bookstore's goroutine: `POST http://bookwarehouse.<ns>.svc.cluster.local:14001/restock-books`, `Host: bookwarehouse.<ns>`, body `1`,
    /// forwarding the trace headers of the purchase that caused it (as the demo app does).
    func issueRestock(from pod: Int, joining purchase: HTTPRequestHead) {
        let namespace = deployments[pods[pod].deployment].app.warehouseNamespace
        pods[pod].app.restockRequests += 1
        let destination = resolveAddress(host: "bookwarehouse.\(namespace).svc.cluster.local", port: 14001, clientNamespace: pods[pod].key.namespace)
        let head = HTTPRequestHead(method: "POST", path: "/restock-books", authority: "bookwarehouse.\(namespace)",
                                   headers: [HTTPHeader(name: "content-type", value: "application/json"), HTTPHeader(name: "user-agent", value: "Go-http-client/1.1")]
                                       + purchase.headers.filter { B3Context.propagatedHeaders.contains($0.name.lowercased()) })
        issueHTTP(origin: .fireAndForget, client: pod, head: head, destination: destination, measuredFrom: now, bodyBytes: 1)
    }

    /// DNS plus the port: the address a client connects to.
    func resolveAddress(host: String, port: Int, clientNamespace: String) -> SocketAddress? {
        guard let ip = resolve(host: host, clientNamespace: clientNamespace) else { return nil }
        if let service = serviceByIP[ip] { return SocketAddress(ip: services[service].ipText, port: port) }
        if let pod = podByIP[ip] { return SocketAddress(ip: pods[pod].ipText, port: port) }
        return SocketAddress(ip: IPv4.format(ip), port: port)
    }
}

extension HTTPRequestHead {
    /// A header by name, or the request line's parts as HTTP/2 names them (`:method`, `:path`,
    /// `:authority`), as `upstreamHeaders:` expectations read a request an app received.
    func pseudoOrHeader(_ name: String) -> String? {
        switch name {
        case ":method": method
        case ":path": path
        case ":authority": authority
        default: header(name)
        }
    }
}
