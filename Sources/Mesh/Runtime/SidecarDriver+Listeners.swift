import NIOCore

/// The sidecar's listeners, each with what it puts on a connection it accepts.
package enum SidecarListener: String, Sendable, CaseIterable {
    /// 15001: the app's requests (HTTP/1.1, h2c, CONNECT for TCP ports), deadlines; under iptables
    /// capture a connection's original destination first decides between HTTP and a raw relay.
    case outbound
    /// 15003: peer sidecars (mTLS, then HTTP/1.1 or h2), deadlines.
    case inbound
    /// 15010: `/stats`, `/config_dump`, `/ready`, `/stats/prometheus` (HTTP/1.1).
    case admin
}

extension SidecarDriver {
    /// Sets up a connection `listener` accepted (its child channel initializer). With HTTP/2, a
    /// connection starting with the HTTP/2 preface (h2c prior knowledge, or h2 inside the inbound
    /// listener's mTLS) speaks HTTP/2, each stream handled by its own handler; any other connection
    /// is HTTP/1.1. The fuzz harness (Sources/Fuzz) runs this on EmbeddedChannels.
    package func configureAcceptedConnection(_ channel: any Channel, listener: SidecarListener) throws {
        let driver = self
        let name = listener.rawValue
        let makeHandler: @Sendable (HTTPServerHandlers?) -> any ChannelHandler
        switch listener {
        case .outbound: makeHandler = { OutboundDownstreamHandler(driver: driver, handlers: $0) }
        case .inbound: makeHandler = { InboundDownstreamHandler(driver: driver, handlers: $0) }
        case .admin: makeHandler = { _ in AdminHandler(driver: driver) }
        }
        let http2 = listener != .admin
        let deadlines = listener != .admin
        // The inbound listener speaks mTLS only (with the certificate current at accept time).
        if listener == .inbound { try addPeerTLSServer(to: channel.pipeline.syncOperations) }
        let installHTTP = { (operations: ChannelPipeline.SynchronousOperations) throws in
            // No error handler: malformed requests reach our handler, which answers 400 and counts them.
            let timeouts = deadlines ? DownstreamTimeoutHandler(driver: driver) : nil
            guard http2 else {
                let handlers = HTTPServerHandlers(timeouts: timeouts)
                return try handlers.install(in: operations, then: makeHandler(handlers))
            }
            // The deadlines go before the sniffer, so that a connection which never sends a
            // byte is closed when idle; HTTP/2 connections drop them (their streams have none).
            if let timeouts { try operations.addHandler(timeouts) }
            try operations.addHandler(DownstreamProtocolSniffer(
                driver: driver, listener: name,
                installHTTP1: { operations in
                    let handlers = HTTPServerHandlers(timeouts: timeouts)
                    try handlers.install(in: operations, then: makeHandler(handlers), timeoutsInstalled: true)
                },
                installHTTP2: { operations in
                    if let timeouts { operations.removeHandler(timeouts, promise: nil) }
                    try driver.installHTTP2Server(on: operations, listener: name, makeHandler: makeHandler)
                }))
        }
        // Captured app connections to TCP ports are relayed, not parsed as HTTP.
        guard listener == .outbound, settings.capture == .iptables else { return try installHTTP(channel.pipeline.syncOperations) }
        try channel.pipeline.syncOperations.addHandler(CapturedConnectionClassifier(driver: driver, installHTTP: installHTTP))
    }
}
