import Logging
import NIOCore
import NIOTLS

/// The deadlines of one downstream HTTP/1.1 connection, as a value-typed state machine:
/// - handshaking (a TLS listener, from accept until the TLS handshake completed): the handshake
///   timeout runs; when it fires the connection closes (a client dripping its ClientHello);
/// - idle (kept alive after a response, no byte of a new request yet): the idle timeout runs;
///   when it fires the connection closes quietly. A new connection is idle too, but waits for its
///   first byte no longer than the header timeout (a connection that opens and says nothing is
///   held no longer than one that starts a head and stalls);
/// - reading a head (bytes of a request arrived, its head is not complete): the header timeout
///   runs; when it fires the client gets 408 and the connection closes (a slowloris client);
/// - a request in progress (its head arrived, until its response ended): no deadline here, the
///   upstream request timeout covers the answer.
/// `DownstreamTimeoutHandler` feeds it the events and carries out what it returns.
struct DownstreamDeadlines {
    enum Phase: Equatable {
        case handshaking
        case idle
        case readingHead
        /// The head arrived; the request's body may still be coming.
        case readingRequest
        /// The request is complete; its answer is pending or streaming.
        case answering
    }

    enum Action: Equatable {
        case none
        case arm(TimeAmount)
        case disarm
    }

    /// What an expired timer means.
    enum Expiry: Equatable {
        case handshakeTooSlow
        case idle
        case headTooSlow
    }

    private(set) var phase: Phase = .idle
    /// Bytes of the next request arrived while this one was being answered (pipelining).
    private var nextRequestStarted = false
    let idleTimeout: TimeAmount
    let headerTimeout: TimeAmount
    /// nil: no TLS in front of this connection.
    let handshakeTimeout: TimeAmount?

    init(idleTimeout: TimeAmount, headerTimeout: TimeAmount, handshakeTimeout: TimeAmount? = nil) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.handshakeTimeout = handshakeTimeout
    }

    /// How long a new connection may stay silent: the shorter of the idle and header timeouts
    /// (those that are on).
    var firstByteTimeout: TimeAmount {
        if idleTimeout.nanoseconds <= 0 { return headerTimeout }
        if headerTimeout.nanoseconds <= 0 { return idleTimeout }
        return min(idleTimeout, headerTimeout)
    }

    mutating func connectionStarted() -> Action {
        if let handshakeTimeout {
            phase = .handshaking
            return arm(handshakeTimeout)
        }
        phase = .idle
        return arm(firstByteTimeout)
    }

    /// The TLS handshake completed: the connection waits for its first request.
    mutating func handshakeCompleted() -> Action {
        guard phase == .handshaking else { return .none }
        phase = .idle
        return arm(firstByteTimeout)
    }

    /// Raw bytes arrived (before HTTP decoding).
    mutating func bytesArrived() -> Action {
        switch phase {
        case .handshaking:
            // Decrypted bytes come only after the handshake; a handler that missed its event.
            phase = .readingHead
            return arm(headerTimeout)
        case .idle:
            phase = .readingHead
            return arm(headerTimeout)
        case .readingHead, .readingRequest:
            return .none
        case .answering:
            nextRequestStarted = true
            return .none
        }
    }

    mutating func headReceived() -> Action {
        phase = .readingRequest
        nextRequestStarted = false
        return .disarm
    }

    mutating func requestEnded() -> Action {
        if phase == .readingRequest { phase = .answering }
        return .none
    }

    /// The response was written completely and the connection stays open.
    mutating func responseFinished() -> Action {
        guard phase == .answering || phase == .readingRequest else { return .none }
        if nextRequestStarted {
            nextRequestStarted = false
            phase = .readingHead
            return arm(headerTimeout)
        }
        phase = .idle
        return arm(idleTimeout)
    }

    /// The armed timer fired: what it means now (nil when a request is in progress).
    func timerFired() -> Expiry? {
        switch phase {
        case .handshaking: .handshakeTooSlow
        case .idle: .idle
        case .readingHead: .headTooSlow
        case .readingRequest, .answering: nil
        }
    }

    private func arm(_ timeout: TimeAmount) -> Action {
        timeout.nanoseconds > 0 ? .arm(timeout) : .disarm
    }
}

/// First handler of a listener's HTTP pipeline (after TLS): sees the raw bytes and the TLS
/// handshake's completion, runs `DownstreamDeadlines`, and when one passes closes the connection
/// (handshake too slow, idle) or answers 408 itself and closes (a head too slow). It writes raw bytes because it sits before the HTTP
/// encoder and no request is in progress for the HTTP handlers to answer.
final class DownstreamTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let requestTimeoutResponse = "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

    private let driver: SidecarDriver
    private var deadlines: DownstreamDeadlines
    /// When the armed deadline passes (nil: disarmed).
    private var deadline: NIODeadline?
    /// The one wake-up scheduled on the loop and when it fires. It is moved only to an earlier
    /// time: arming a later deadline or disarming leaves it in place, and when it fires it looks
    /// at the deadline then current (and sleeps again until it if it is still ahead). So a
    /// kept-alive connection schedules about one task per header-timeout period instead of two
    /// schedules and two cancels (each a linear search of the loop's task queue) per request.
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?
    private var expired = false

    /// `secure`: a TLS handler sits in front, and the handshake deadline runs first.
    init(driver: SidecarDriver, secure: Bool = false) {
        self.driver = driver
        let settings = driver.settings
        self.deadlines = DownstreamDeadlines(idleTimeout: settings.idleTimeout, headerTimeout: settings.requestHeaderTimeout,
                                             handshakeTimeout: secure ? settings.tlsHandshakeTimeout : nil)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { perform(deadlines.connectionStarted()) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(deadlines.connectionStarted())
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a 408 nothing more is read.
        guard !expired else { return }
        perform(deadlines.bytesArrived())
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            perform(deadlines.handshakeCompleted())
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Events from the HTTP handler and the responder

    func headReceived() { perform(deadlines.headReceived()) }
    func requestEnded() { perform(deadlines.requestEnded()) }
    func responseFinished() { perform(deadlines.responseFinished()) }

    private func perform(_ action: DownstreamDeadlines.Action) {
        switch action {
        case .none:
            return
        case .disarm:
            deadline = nil
        case .arm(let timeout):
            let due = driver.clock.now() + timeout
            deadline = due
            // A wake-up already due no later than this deadline will re-check it then.
            if let timerDeadline, timerDeadline <= due { return }
            schedule(at: due)
        }
    }

    private func schedule(at due: NIODeadline) {
        timer?.cancel()
        guard let context else {
            timer = nil
            timerDeadline = nil
            return
        }
        timerDeadline = due
        timer = driver.clock.schedule(at: due) { [self] in fired() }
    }

    private func cancelTimer() {
        deadline = nil
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    private func fired() {
        timer = nil
        timerDeadline = nil
        guard let due = deadline else { return }
        if driver.clock.now() < due {
            // Re-armed since this wake-up was scheduled: sleep until the current deadline.
            schedule(at: due)
            return
        }
        deadline = nil
        guard let context, let expiry = deadlines.timerFired() else { return }
        expired = true
        switch expiry {
        case .handshakeTooSlow:
            driver.count(.tlsHandshakeTimeout)
            driver.logger.info("TLS handshake not completed in time", metadata: ["remote": "\(context.channel.remoteAddress?.description ?? "")"])
            context.close(promise: nil)
        case .idle:
            driver.count(.idleTimeout)
            context.close(promise: nil)
        case .headTooSlow:
            driver.count(.requestHeaderTimeout)
            driver.logger.info("request head not received in time", metadata: ["remote": "\(context.channel.remoteAddress?.description ?? "")"])
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: Self.requestTimeoutResponse))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
