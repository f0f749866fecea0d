import MeshControl
import MeshModel
import MeshProxy

/// FSM Gateway in the virtual cluster (installed, as `fsm install --set
/// fsm.fsmGateway.enabled=true`): each namespace with a Gateway the controller programs gets the
/// pod `fsm-gateway-<namespace>`, outside the mesh, running the real engine with that Gateway's
/// `GatewayConfig`, and the LoadBalancer Service of the same name, reachable from outside at
/// `fsm-gateway-<namespace>.<namespace>` on the listener ports. Its configs arrive after the
/// config delay, as sidecars' do. A namespace with several Gateways runs the first by name.
extension SimEngine {
    /// Creates the pods of Gateways that got a config and applies every gateway's current config.
    func syncGatewayPods() {
        var pushed = 0
        for name in controller.gatewayNames {
            let namespace = String(name.prefix { $0 != "/" })
            let gatewayPodName = SimEngine.gatewayPodName(of: name)
            let pod = gatewayPodByName[gatewayPodName] ?? placeGatewayPod(name: gatewayPodName, namespace: namespace)
            if let running = gatewayOfPod[pod], running != name { continue }
            gatewayOfPod[pod] = name
            guard let config = controller.gatewayConfig(for: name), sidecars[pod].gatewayConfig?.version != config.version else { continue }
            switch sidecars[pod].applyGateway(config) {
            case .applied:
                pushed += 1
                perform(sidecars[pod].takeConfigActions(), at: pod)
            case .rejected(let reason):
                record("config rejected by \(podName(pod)): \(reason)")
            }
        }
        if pushed > 0, now > 0 { record("config pushed to \(pushed) gateway\(pushed == 1 ? "" : "s")", kind: .configPush) }
    }

    /// FSM's ingress controller (`<control plane>/fsm-ingress`, the config `ingressClassName: pipy`
    /// Ingresses compile to) runs as the pod and LoadBalancer Service `fsm-ingress` (F2-003);
    /// a Gateway in namespace N as `fsm-gateway-N`.
    /// The controller's name for the ingress config (`GatewayBuilder.ingressName`).
    static let ingressPodName = "fsm-ingress"

    static func gatewayPodName(of gateway: String) -> String {
        let namespace = String(gateway.prefix { $0 != "/" })
        return gateway == "\(namespace)/\(ingressPodName)" ? ingressPodName : "fsm-gateway-\(namespace)"
    }

    private func placeGatewayPod(name: String, namespace: String) -> Int {
        let pod = placeOutsidePod(name: name, namespace: namespace, ip: IPv4.pod(pods.count),
                                  behavior: makeBehavior(deployment: name, template: PodSpec(), spec: AppSpec(model: .none)))
        gatewayPodByName[name] = pod
        return pod
    }

    /// A gateway's changed config reaches its pod after the config delay.
    func scheduleGatewayPush(_ update: ControllerUpdate) {
        guard !update.gateways.isEmpty else { return }
        queue.schedule(.gatewayPush, at: now + configDelay)
    }

    /// The gateway pod a host name from outside names: `fsm-gateway-<ns>.<ns>` or
    /// `fsm-ingress.<ns>` (with `.svc` and `.svc.cluster.local` as well).
    func gatewayPod(serving host: String) -> Int? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let pod = gatewayPodByName[String(parts[0])], pods[pod].key.namespace == parts[1] else { return nil }
        let rest = parts.dropFirst(2).joined(separator: ".")
        guard rest.isEmpty || rest == "svc" || rest == "svc.cluster.local" else { return nil }
        return pod
    }

    /// The gateway pod at an address a client sends to.
    func gatewayPod(at destination: SocketAddress) -> Int? {
        guard !gatewayOfPod.isEmpty, let ip = IPv4.parse(destination.ip), let pod = podByIP[ip], gatewayOfPod[pod] != nil else { return nil }
        return pod
    }

    /// An outside client's request leaves for the gateway: from here on the gateway pod is the
    /// exchange's client (its engine's actions are performed there).
    func toGateway(slot: Int, gateway: Int) {
        let client = Int(exchanges[slot].client)
        exchanges[slot].gatewayClient = SocketAddress(ip: pods[client].ipText, port: 40000 + slot % 20000)
        exchanges[slot].client = Int32(gateway)
        let id = exchanges[slot].id
        guard pods[gateway].alive, let oneWay = transit(from: client, to: gateway) else {
            exchanges[slot].finalHead = HTTPResponseHead(status: 0)
            queue.schedule(.atClient(slot: Int32(slot), id: id), at: now + CostModel.lostMessageTimeout)
            return
        }
        queue.schedule(.atGateway(slot: Int32(slot), id: id), at: now + oneWay)
    }

    func atGateway(slot: Int32, id: UInt64) {
        guard isLive(slot, id) else { return }
        let gateway = Int(exchanges[Int(slot)].client)
        var head = exchanges[Int(slot)].head
        // The Host header is the authority, as an HTTP server reads it.
        if let index = head.headers.firstIndex(where: { $0.name.lowercased() == "host" }) {
            head.authority = head.headers[index].value
            head.headers.remove(at: index)
        }
        exchanges[Int(slot)].head = head
        let port = exchanges[Int(slot)].destination.port
        let listener = sidecars[gateway].gatewayListenerProtocol(port: port)
        // A datagram needs the port's UDP listener; a connection a TCP one.
        if exchanges[Int(slot)].udp || listener == .udp {
            guard exchanges[Int(slot)].udp, listener == .udp else { return failAtGateway(slot: Int(slot), tls: false) }
            return relayAtGateway(slot: Int(slot), gateway: gateway, port: port, sni: nil)
        }
        let sni: String?
        switch gatewayHandshake(slot: Int(slot), gateway: gateway, port: port) {
        case .failed(let tls): return failAtGateway(slot: Int(slot), tls: tls)
        case .passthrough(let name): return relayAtGateway(slot: Int(slot), gateway: gateway, port: port, sni: name)
        case .plain: sni = nil
        case .terminated(let name): sni = name
        }
        if listener == .tcp || listener == .tls {
            return relayAtGateway(slot: Int(slot), gateway: gateway, port: port, sni: sni)
        }
        chargeCPU(gateway, CostModel.httpRequestCPU)
        let actions = sidecars[gateway].gatewayRequest(
            ExchangeID(id), head: head, listenerPort: exchanges[Int(slot)].destination.port, source: exchanges[Int(slot)].gatewayClient ?? SocketAddress(ip: "", port: 0),
            sni: sni, now: MeshInstant(nanoseconds: now), random: &sidecarRandom[gateway])
        perform(actions, at: gateway)
    }

    /// A raw TCP connection (a `tcp://` load from outside) to a gateway's TCP listener: the engine
    /// picks the endpoint and the bytes go there as they are, as `relayAtGateway` carries HTTP over
    /// an L4 listener; nil when the port has no TCP listener or the engine refuses the connection.
    func gatewayRelayPick(gateway: Int, destination: SocketAddress, client: Int) -> (pod: Int, port: Int)? {
        guard pods[gateway].alive, sidecars[gateway].gatewayListenerProtocol(port: destination.port) == .tcp else { return nil }
        chargeCPU(gateway, CostModel.newConnectionCPU)
        let connection = nextConnectionID()
        let source = SocketAddress(ip: pods[client].ipText, port: 40000 + Int(connection % 20000))
        let decision = sidecars[gateway].gatewayConnection(ConnectionID(connection), listenerPort: destination.port, source: source, sni: nil,
                                                           now: MeshInstant(nanoseconds: now), random: &sidecarRandom[gateway])
        guard case .connect(_, let endpoint) = decision, let ip = IPv4.parse(endpoint.ip) else { return nil }
        return kubeProxyPick(ip: ip, port: endpoint.port)
    }

    /// An L4 listener (TCPRoute, UDPRoute, TLSRoute by `sni`) carries the client's bytes as they
    /// are: the engine picks the endpoint, the request goes there unchanged (its Host, no
    /// `x-forwarded-for`, a passthrough's TLS) on the gateway's connection, and the answer comes
    /// back as the app made it. An external backend (TLSRoute to `httpbin.org`) is dialled by name.
    private func relayAtGateway(slot: Int, gateway: Int, port: Int, sni: String?) {
        chargeCPU(gateway, CostModel.newConnectionCPU + CostModel.tcpCallCPU)
        let client = exchanges[slot].gatewayClient ?? SocketAddress(ip: "", port: 0)
        let decision = sidecars[gateway].gatewayConnection(ConnectionID(exchanges[slot].id), listenerPort: port, source: client, sni: sni,
                                                           now: MeshInstant(nanoseconds: now), random: &sidecarRandom[gateway])
        guard case .connect(_, let endpoint) = decision else {
            exchanges[slot].finalHead = HTTPResponseHead(status: 0)
            queue.schedule(.atClient(slot: Int32(slot), id: exchanges[slot].id), at: now + sampleLatency())
            return
        }
        let resolved = IPv4.parse(endpoint.ip) == nil ? resolveExternal(host: endpoint.ip).map { SocketAddress(ip: IPv4.format($0), port: endpoint.port) } : endpoint
        exchanges[slot].destination = resolved ?? endpoint
        sendDirect(slot: slot)
    }
}
