import MeshProxy
import NIOCore
import NIOHTTP1

/// What the driver needs from one connection of the engine's upstream pool, HTTP/1.1 or HTTP/2.
protocol EngineUpstream: AnyObject {
    var id: UInt64 { get }
    func send(exchange: UInt64, attempt: Int, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?)
    /// The response head being reported to the engine belongs to `exchange`.
    func isDelivering(exchange: UInt64) -> Bool
    /// The engine chose the response being reported: stream it to the app.
    func forwardResponse(to downstream: OutboundDownstreamHandler)
    func closeWhenDone()
}

extension UpstreamLink: EngineUpstream {}

/// One connection of the engine's pool for a gRPC port: every attempt the engine sends on it is a
/// stream on the shared HTTP/2 connection to the peer sidecar (h2 inside mTLS), so the engine's
/// connections to one endpoint share one TCP connection. A stream reset before its response ended
/// is reported to the engine as this connection lost, as an HTTP/1.1 reset would be. Confined to
/// the driver's event loop (`@unchecked Sendable` only for NIO's `@Sendable` callbacks).
final class UpstreamHTTP2Link: EngineUpstream, HTTP2ClientStreamDelegate, @unchecked Sendable {
    private enum ResponseState {
        case waitingForHead
        case forwarding(OutboundDownstreamHandler)
    }

    private struct Attempt {
        var exchange: UInt64
        var attempt: Int
        var state: ResponseState
    }

    let id: UInt64
    private let driver: SidecarDriver
    private let endpoint: MeshProxy.SocketAddress
    private let connectTimeout: TimeAmount
    private var attempts: [ObjectIdentifier: (stream: HTTP2ClientStream, attempt: Attempt)] = [:]
    /// The stream whose response head is being reported to the engine.
    private var delivering: (stream: HTTP2ClientStream, head: NIOHTTP1.HTTPResponseHead)?
    private var gone = false
    /// A stream of this link opened (the shared connection was up), reported to the engine.
    private var opened = false
    /// The shared connection the last attempt went on.
    private var connection: HTTP2ClientConnection?

    init(id: UInt64, driver: SidecarDriver, endpoint: MeshProxy.SocketAddress, connectTimeout: TimeAmount) {
        self.id = id
        self.driver = driver
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
    }

    func send(exchange: UInt64, attempt: Int, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?) {
        guard !gone else { return }
        // Local mode: the peer's sidecar listens on its inbound port at the endpoint's IP (a
        // gateway dials the endpoint itself, in plaintext h2c).
        let direct = driver.gatewayEntry != nil
        let connection = driver.http2Connection(host: endpoint.ip, port: direct ? endpoint.port : driver.settings.inboundPort, toPeerSidecar: !direct,
                                                connectTimeout: connectTimeout)
        if self.connection !== connection {
            self.connection = connection
            connection.whenClosed { [weak self, weak connection] in
                if let self, let connection { connectionClosed(connection) }
            }
        }
        let stream = HTTP2ClientStream(head: head, body: body, delegate: self)
        attempts[ObjectIdentifier(stream)] = (stream, Attempt(exchange: exchange, attempt: attempt, state: .waitingForHead))
        let secure = driver.peerTLS != nil
        connection.openStream(initialize: { [self] channel in
                                  // A stream opens on a connection that is up: the engine's connection is open.
                                  if !opened {
                                      opened = true
                                      driver.upstreamConnected(self)
                                  }
                                  try stream.install(on: channel, secure: secure)
                              },
                              failed: { [self] in streamLost(stream, afterHead: false) })
    }

    func isDelivering(exchange: UInt64) -> Bool {
        guard let delivering, let entry = attempts[ObjectIdentifier(delivering.stream)] else { return false }
        if entry.attempt.exchange == exchange, case .waitingForHead = entry.attempt.state { return true }
        return false
    }

    func forwardResponse(to downstream: OutboundDownstreamHandler) {
        guard let delivering, var entry = attempts[ObjectIdentifier(delivering.stream)] else { return }
        entry.attempt.state = .forwarding(downstream)
        attempts[ObjectIdentifier(delivering.stream)] = entry
        let stream = delivering.stream
        // The app hung up mid-response: the upstream stream is not needed any more.
        downstream.onGone = { [self] in
            attempts[ObjectIdentifier(stream)] = nil
            stream.cancel()
        }
        downstream.startStreamedResponse(delivering.head)
    }

    /// Streams in progress finish; the shared connection stays for the other users. Before the
    /// first stream opened (the engine's connect timeout) the streams waiting are dropped.
    func closeWhenDone() {
        guard !opened, !gone else { return }
        gone = true
        let waiting = attempts.values.map(\.stream)
        attempts.removeAll()
        for stream in waiting { stream.cancel() }
    }

    // MARK: Stream events

    func streamResponseHead(_ stream: HTTP2ClientStream, _ head: NIOHTTP1.HTTPResponseHead) {
        guard let entry = attempts[ObjectIdentifier(stream)] else { return }
        delivering = (stream, head)
        driver.upstreamResponseHead(on: self, exchange: entry.attempt.exchange, attempt: entry.attempt.attempt, head: head)
        delivering = nil
        if let after = attempts[ObjectIdentifier(stream)], case .waitingForHead = after.attempt.state {
            // Not the answer (the engine retries, or already answered): reset the stream.
            attempts[ObjectIdentifier(stream)] = nil
            stream.cancel()
        }
    }

    func streamBody(_ stream: HTTP2ClientStream, _ part: ByteBuffer, from channel: any Channel) {
        guard let entry = attempts[ObjectIdentifier(stream)], case .forwarding(let downstream) = entry.attempt.state else { return }
        downstream.streamBody(part, from: channel)
    }

    func streamEnd(_ stream: HTTP2ClientStream, trailers: HTTPHeaders?) {
        guard let entry = attempts.removeValue(forKey: ObjectIdentifier(stream)), case .forwarding(let downstream) = entry.attempt.state else { return }
        downstream.onGone = nil
        downstream.finishStreamedResponse(trailers: trailers)
    }

    func streamLost(_ stream: HTTP2ClientStream, afterHead: Bool) {
        guard let entry = attempts.removeValue(forKey: ObjectIdentifier(stream)) else { return }
        switch entry.attempt.state {
        case .forwarding(let downstream):
            // The body was cut short: the app cannot get a complete response any more.
            downstream.onGone = nil
            downstream.abortStreamedResponse()
        case .waitingForHead:
            driver.count(.upstreamReset)
        }
        lost()
    }

    /// The shared connection closed. Streams in flight report their own loss; without any, the
    /// engine's connection is gone as an idle HTTP/1.1 connection that closed would be (else the
    /// engine would count it open, and keep it in its pool, for good).
    private func connectionClosed(_ closed: HTTP2ClientConnection) {
        guard connection === closed, attempts.isEmpty else { return }
        lost()
    }

    /// Like an HTTP/1.1 connection that went: the engine fails what it still waits for on it.
    private func lost() {
        guard !gone else { return }
        gone = true
        let waiting = attempts.values.map(\.stream)
        attempts.removeAll()
        for stream in waiting { stream.cancel() }
        driver.upstreamLost(self)
    }
}
