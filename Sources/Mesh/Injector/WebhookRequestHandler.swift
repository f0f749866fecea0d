import Foundation
import Logging
import MeshInject
import MeshModel
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

/// One webhook connection's requests: each is read whole (at most `maxBodyBytes`, within
/// `requestTimeout` of its head), handed to `AdmissionWebhook`, and answered; a credential Secret
/// the answer needs is created first, within `secretDeadline`, else the failure policy answers.
/// Requests on a connection are answered in order (the pipelining handler holds later ones).
final class WebhookRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: InjectorServer
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    private var deadline: Scheduled<Void>?

    init(server: InjectorServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = (requestHead.headers.first(name: "content-length").flatMap(Int.init) ?? 0) > server.settings.maxBodyBytes
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: server.settings.requestTimeout) { [weak self] in
                self?.respond(WebhookAnswer(status: 408, body: "the request did not arrive within its deadline\n"), keepAlive: false, context: context)
            }
        case .body(var chunk):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > server.settings.maxBodyBytes {
                tooLarge = true
                body = nil
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            deadline?.cancel()
            deadline = nil
            guard let head else { return }
            self.head = nil
            if tooLarge {
                respond(WebhookAnswer(status: 413, body: "the request body is over \(server.settings.maxBodyBytes) bytes\n"), keepAlive: false, context: context)
                return
            }
            let text = body.map { String(buffer: $0) } ?? ""
            body = nil
            serve(head, body: text, context: context)
        }
    }

    private func serve(_ head: HTTPRequestHead, body: String, context: ChannelHandlerContext) {
        let path = head.uri
        let step = server.webhook.handle(method: head.method.rawValue, path: path, contentType: head.headers.first(name: "content-type"),
                                         body: body, cluster: server.cluster, proxyUUID: UUID().uuidString.lowercased())
        switch step {
        case .answer(let answer):
            if answer.status == 400 { server.logger.warning("malformed admission request refused", metadata: ["path": "\(path)", "reason": "\(answer.body)"]) }
            respond(answer, keepAlive: head.isKeepAlive, context: context)
        case .createSecret(let secret, let pending):
            createSecret(secret, pending: pending, keepAlive: head.isKeepAlive, context: context)
        }
    }

    /// Creates the Secret, racing the deadline; answers on the event loop whichever comes first.
    private func createSecret(_ secret: CredentialSecret, pending: PendingInjection, keepAlive: Bool, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let outcome = loop.makePromise(of: String?.self)
        let writes = server.writes
        let task = Task {
            do {
                try await writes.createSecret(secret)
                outcome.succeed(nil)
            } catch {
                outcome.succeed("creating Secret \(secret.namespace)/\(secret.name) failed: \(error)")
            }
        }
        let seconds = Double(server.settings.secretDeadline.nanoseconds) / 1e9
        let timer = loop.assumeIsolated().scheduleTask(in: server.settings.secretDeadline) {
            task.cancel()
            outcome.succeed("creating Secret \(secret.namespace)/\(secret.name) took longer than \(seconds)s")
        }
        let logger = server.logger
        outcome.futureResult.assumeIsolated().whenSuccess { [self] failure in
            timer.cancel()
            if let failure {
                logger.error("sidecar injection failed", metadata: ["namespace": "\(secret.namespace)", "proxy_uuid": "\(secret.proxyUUID)", "error": "\(failure)"])
                respond(pending.failed(failure), keepAlive: keepAlive, context: context)
            } else {
                logger.info("sidecar injected", metadata: ["namespace": "\(secret.namespace)", "proxy_uuid": "\(secret.proxyUUID)",
                                                           "probes": "\(pending.plan.probes.map(\.argument).joined(separator: " "))"])
                respond(pending.created(), keepAlive: keepAlive, context: context)
            }
        }
    }

    private func respond(_ answer: WebhookAnswer, keepAlive: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: answer.contentType)
        headers.add(name: "content-length", value: String(answer.body.utf8.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answer.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}

/// Closes a connection whose TLS handshake does not complete in time, and one that stays idle.
final class WebhookConnectionDeadlines: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let handshakeTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var handshake: Scheduled<Void>?
    private var idle: Scheduled<Void>?

    init(handshakeTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        handshake = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { context.close(promise: nil) }
        rearmIdle(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            handshake?.cancel()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        rearmIdle(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        rearmIdle(context)
        context.write(data, promise: promise)
    }

    private func rearmIdle(_ context: ChannelHandlerContext) {
        idle?.cancel()
        idle = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake?.cancel()
        idle?.cancel()
        context.fireChannelInactive()
    }
}
