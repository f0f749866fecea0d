import Logging
import MeshProxy
import NIOCore
import NIOHTTP1

extension SidecarDriver {
    /// A gateway's HealthCheckPolicy probe (`HealthProbe`): a connection of its own to the
    /// endpoint and, with a path, `GET path` on it; how it ended goes back to the engine, which
    /// keeps the deadline (a report after it changes nothing). The connection is closed after the
    /// answer, or at `healthProbeBackstop` at the latest.
    func healthProbe(_ probe: HealthProbe) {
        let report: @Sendable (HealthProbeOutcome) -> Void = { [self] outcome in
            eventLoop.execute { [self] in perform(engine.healthProbeEnded(probe.id, outcome)) }
        }
        let request = probe.path.map { path in
            NIOHTTP1.HTTPRequestHead(version: .http1_1, method: .GET, uri: path,
                                     headers: HTTPHeaders([("host", probe.endpoint.description), ("connection", "close")]))
        }
        connect(host: probe.endpoint.ip, port: probe.endpoint.port, timeout: Self.healthProbeBackstop) { channel in
            guard let request else { return }
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(HealthProbeReader(request: request, report: report))
        }.whenComplete { [self] result in
            switch result {
            case .success(let channel):
                if request == nil {
                    report(.connected)
                    channel.close(promise: nil)
                } else {
                    channel.eventLoop.scheduleTask(in: Self.healthProbeBackstop) { channel.close(promise: nil) }
                }
            case .failure(let error):
                logger.debug("health probe cannot reach its endpoint", metadata: ["cluster": "\(probe.cluster)", "endpoint": "\(probe.endpoint)", "error": "\(error)"])
                report(.failed)
            }
        }
    }

    /// How long a probe's connection may live; the engine's own deadline (5 s) comes first.
    static let healthProbeBackstop: TimeAmount = .seconds(10)
}

/// Writes the probe's GET when connected, gathers the answer (its body up to 64 KiB) and reports
/// it once; a connection that ends first reports a failure.
final class HealthProbeReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    static let bodyLimit = 64 * 1024
    private let request: NIOHTTP1.HTTPRequestHead
    private let report: @Sendable (HealthProbeOutcome) -> Void
    private var head: NIOHTTP1.HTTPResponseHead?
    private var body = ""
    private var reported = false

    init(request: NIOHTTP1.HTTPRequestHead, report: @escaping @Sendable (HealthProbeOutcome) -> Void) {
        self.request = request
        self.report = report
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(let bytes):
            if body.utf8.count < Self.bodyLimit { body += String(buffer: bytes) }
        case .end:
            guard let head else { return finish(.failed, context: context) }
            let headers = head.headers.map { MeshProxy.HTTPHeader(name: $0.name, value: $0.value) }
            finish(.answered(status: Int(head.status.code), headers: headers, body: body), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !reported { reported = true; report(.failed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failed, context: context)
    }

    private func finish(_ outcome: HealthProbeOutcome, context: ChannelHandlerContext) {
        if !reported { reported = true; report(outcome) }
        context.close(promise: nil)
    }
}
