import MeshProxy

/// `sim --pcap`: the engine's calls into `PacketCapture` (nil unless asked for, so a run without
/// it pays one check per hop). An app's connection is a load worker's (from its pod to the address
/// it dialled); a sidecar-to-sidecar connection is the client sidecar's upstream connection to the
/// server pod's inbound port, as TLS records.
extension SimEngine {
    /// The inbound listener's port: where every sidecar-to-sidecar stream goes.
    static let captureInboundPort: UInt16 = 15003

    private func appFlow(load: Int, worker: Int, destination: SocketAddress) -> PacketCapture.Flow? {
        guard let server = IPv4.parse(destination.ip) else { return nil }
        let client = loads[load].client
        let port = UInt16(10_000 + (load * 512 + worker) % 50_000)
        return PacketCapture.Flow(client: pods[client].ip, clientPort: port, server: server, serverPort: UInt16(clamping: destination.port))
    }

    private func sidecarFlow(client: Int, server: Int, connection: UInt64) -> PacketCapture.Flow {
        PacketCapture.Flow(client: pods[client].ip, clientPort: UInt16(30_000 + connection % 30_000),
                           server: pods[server].ip, serverPort: Self.captureInboundPort)
    }

    /// A load's HTTP request leaves its app.
    func captureRequest(slot: Int) {
        guard capture != nil, case .load(let load, let worker) = exchanges[slot].origin else { return }
        let exchange = exchanges[slot]
        guard let flow = appFlow(load: Int(load), worker: Int(worker), destination: exchange.destination) else { return }
        capture?.send(flow, fromClient: true, Self.requestBytes(exchange.head, bodyBytes: exchange.bodyBytes), at: now)
    }

    /// A load's final answer reaches its app (status 0: the connection was refused or reset).
    func captureResponse(_ exchange: Exchange, head: HTTPResponseHead, body: Int32) {
        guard capture != nil, case .load(let load, let worker) = exchange.origin,
              let flow = appFlow(load: Int(load), worker: Int(worker), destination: exchange.destination) else { return }
        guard head.status != 0 else { return captureReset(flow) }
        capture?.send(flow, fromClient: false, responseBytes(head, body: body), at: now)
    }

    /// A request goes out on a sidecar-to-sidecar connection (opened first when new).
    func captureUpstreamRequest(client: Int, server: Int, connection: UInt64, slot: Int) {
        guard capture != nil else { return }
        let flow = sidecarFlow(client: client, server: server, connection: connection)
        let size = Self.requestBytes(exchanges[slot].head, bodyBytes: exchanges[slot].bodyBytes).count
        capture?.send(flow, fromClient: true, PacketCapture.tlsRecords(carrying: size), at: now)
    }

    /// The server sidecar's answer on that connection, or its end.
    func captureUpstreamAnswer(_ hop: Hop, client: Int, head: HTTPResponseHead) {
        guard capture != nil, hop.server >= 0 else { return }
        let flow = sidecarFlow(client: client, server: Int(hop.server), connection: hop.connection)
        guard capture?.isOpen(flow) == true else { return }
        if !hop.connectFailed && head.status != 0 {
            capture?.send(flow, fromClient: false, PacketCapture.tlsRecords(carrying: responseBytes(head, body: hop.body).count), at: now)
        }
        if hop.closesConnection { capture?.close(flow, fromClient: false, reset: head.status == 0, at: now) }
    }

    /// The client sidecar closes an upstream connection.
    func captureUpstreamClosed(client: Int, connection: UInt64, server: Int) {
        guard capture != nil, server >= 0 else { return }
        capture?.close(sidecarFlow(client: client, server: server, connection: connection), fromClient: true, at: now)
    }

    /// A raw TCP call's 24 bytes leave the app (`tcp://` loads).
    func captureTCPCall(load: Int, worker: Int) {
        guard capture != nil, let destination = loads[load].destination,
              let flow = appFlow(load: load, worker: worker, destination: destination) else { return }
        capture?.send(flow, fromClient: true, Self.tcpCallPayload, at: now)
    }

    /// The echo came back, or the connection failed.
    func captureTCPReply(load: Int, worker: Int, ok: Bool) {
        guard capture != nil, let destination = loads[load].destination,
              let flow = appFlow(load: load, worker: worker, destination: destination) else { return }
        if ok { capture?.send(flow, fromClient: false, Self.tcpCallPayload, at: now) } else { captureReset(flow) }
    }

    private func captureReset(_ flow: PacketCapture.Flow) {
        if capture?.isOpen(flow) == true {
            capture?.close(flow, fromClient: false, reset: true, at: now)
        } else {
            capture?.refuse(flow, at: now)
        }
    }

    /// fortio's tcp runner payload size, with text a reader recognises.
    static let tcpCallPayload = Array("fortio tcp echo call 24\n".utf8)

    static func requestBytes(_ head: HTTPRequestHead, bodyBytes: Int) -> [UInt8] {
        var text = "\(head.method) \(head.path) HTTP/1.1\r\nhost: \(head.authority)\r\n"
        for header in head.headers where header.name.lowercased() != "host" { text += "\(header.name): \(header.value)\r\n" }
        if bodyBytes > 0 { text += "content-length: \(bodyBytes)\r\n" }
        return Array((text + "\r\n").utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
    }

    func responseBytes(_ head: HTTPResponseHead, body: Int32) -> [UInt8] {
        let text = body >= 0 && Int(body) < bodyTexts.count ? bodyTexts[Int(body)] : ""
        var head = "HTTP/1.1 \(head.status) \(Self.reasonPhrase(head.status))\r\n"
        head += "content-length: \(text.utf8.count)\r\n\r\n"
        return Array((head + text).utf8)
    }

    /// The reason phrase of the statuses the mesh and the app models answer (empty for others,
    /// which HTTP/1.1 allows).
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: ""
        }
    }
}
