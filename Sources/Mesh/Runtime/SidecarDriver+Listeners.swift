import Logging
import NIOCore

extension SidecarDriver {
    /// `runtime.<listener>.downstream_cx_active` in `/stats` (a gauge in `/stats/prometheus`).
    static func activeConnectionsStat(_ listener: ListenerKind) -> String {
        "runtime.\(listener).downstream_cx_active"
    }

    /// A request refused before it reached the mesh (malformed, or a bad Host): counted and logged.
    func countRejected(_ rejection: RequestHeadCheck.Rejection, listener: ListenerKind, detail: String) {
        count(rejection.status == 431 ? .requestHeadersTooLarge : .badRequest)
        logger.info("request refused", metadata: [
            "listener": "\(listener)", "status": "\(rejection.status)", "reason": "\(rejection.reason.dropLast())", "detail": "\(detail)",
        ])
    }

    /// A connection `listener` accepted: kept (its slot is freed when it closes), or refused over
    /// the listener's limit (counted; the caller closes it before it costs anything more).
    func admitConnection(on listener: ListenerKind, _ channel: any Channel) -> Bool {
        eventLoop.preconditionInEventLoop()
        switch admission.opened(listener) {
        case .admit:
            channel.closeFuture.whenComplete { [self] _ in admission.closed(listener) }
            return true
        case .refuse:
            count(.overflow(listener))
            logger.debug("connection over the listener's limit closed", metadata: [
                "listener": "\(listener)", "limit": "\(admission.limits[listener])",
            ])
            return false
        }
    }
}

extension SidecarDriver {
    /// The handlers of an admitted connection. Under mTLS (`peerTLS`) the TLS handler comes with
    /// the first bytes (`DeferredTLSServer`). Every connection gets the deadlines (TLS handshake,
    /// first byte, request head, idle: `DownstreamTimeoutHandler`). With `http2`, a connection
    /// starting with the HTTP/2 preface (h2c prior knowledge, or h2 inside mTLS) speaks HTTP/2,
    /// each stream handled by its own `makeHandler(nil)`; any other connection is HTTP/1.1. With
    /// `classifiesCaptured`, a connection's original destination first decides between HTTP and a
    /// raw TCP relay.
    func installDownstreamPipeline(on channel: any Channel, listener: ListenerKind, peerTLS: Bool, http2: Bool, classifiesCaptured: Bool,
                                   makeHandler: @escaping @Sendable (HTTPServerHandlers?) -> any ChannelHandler) throws {
        let operations = channel.pipeline.syncOperations
        // The inbound listener speaks mTLS only (with the certificate current at the first byte).
        let secure = peerTLS && self.peerTLS != nil
        if secure { try operations.addHandler(DeferredTLSServer(driver: self)) }
        let installHTTP = { [self] (operations: ChannelPipeline.SynchronousOperations) throws in
            // No error handler: malformed requests reach our handler, which answers 400 and counts them.
            let timeouts = DownstreamTimeoutHandler(driver: self, secure: secure)
            guard http2 else {
                let handlers = HTTPServerHandlers(timeouts: timeouts)
                return try handlers.install(in: operations, then: makeHandler(handlers))
            }
            // The deadlines go before the sniffer, so that a connection which never sends a
            // byte is closed; HTTP/2 connections drop them (`HTTP2IdleTimeout` takes over).
            try operations.addHandler(timeouts)
            try operations.addHandler(DownstreamProtocolSniffer(
                driver: self, listener: "\(listener)",
                installHTTP1: { operations in
                    let handlers = HTTPServerHandlers(timeouts: timeouts)
                    try handlers.install(in: operations, then: makeHandler(handlers), timeoutsInstalled: true)
                },
                installHTTP2: { [self] operations in
                    operations.removeHandler(timeouts, promise: nil)
                    try installHTTP2Server(on: operations, listener: "\(listener)", makeHandler: makeHandler)
                }))
        }
        // Captured app connections to TCP ports are relayed, not parsed as HTTP.
        guard classifiesCaptured else { return try installHTTP(operations) }
        try operations.addHandler(CapturedConnectionClassifier(driver: self, installHTTP: installHTTP))
    }
}

extension SidecarDriver {
    /// What a listener puts on a connection it admitted (SidecarProcess's child channel
    /// initializer); the fuzz harness (Sources/Fuzz) runs it on EmbeddedChannels. The outbound
    /// listener speaks HTTP/1.1 and h2c (under iptables capture a connection's original destination
    /// first decides between HTTP and a raw relay), the inbound one mTLS, then HTTP/1.1 or h2; the
    /// admin and Prometheus listeners HTTP/1.1. Probe listeners are set up per port
    /// (`SidecarProcess.listenForProbes`).
    package func configureAcceptedConnection(_ channel: any Channel, listener: ListenerKind) throws {
        let driver = self
        switch listener {
        case .outbound:
            try installDownstreamPipeline(on: channel, listener: listener, peerTLS: false, http2: true,
                                          classifiesCaptured: settings.capture.isTransparent) { OutboundDownstreamHandler(driver: driver, handlers: $0) }
        case .inbound:
            try installDownstreamPipeline(on: channel, listener: listener, peerTLS: true, http2: true,
                                          classifiesCaptured: false) { InboundDownstreamHandler(driver: driver, handlers: $0) }
        case .admin, .prometheus:
            try installDownstreamPipeline(on: channel, listener: listener, peerTLS: false, http2: false,
                                          classifiesCaptured: false) { AdminHandler(driver: driver, listener: listener, handlers: $0) }
        case .probe:
            preconditionFailure("probe listeners are set up per port (SidecarProcess.listenForProbes)")
        }
    }
}

/// Why an accepted connection was closed at once (the listener's initializer fails with it, so
/// NIO closes the socket before registering it).
struct ListenerFull: Error, CustomStringConvertible {
    let listener: ListenerKind
    var description: String { "the \(listener) listener is at its connection limit" }
}
