import NIOCore
import NIOHTTP1
import NIOPosix

/// A response read whole (admin pages and tests; not for the data path).
public struct SimpleHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: String

    public init(status: Int, headers: [(name: String, value: String)], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first(where: { $0.name.lowercased() == name.lowercased() })?.value
    }
}

public enum SimpleHTTPClientError: Error, CustomStringConvertible {
    case connectionClosedEarly

    public var description: String { "the connection closed before a complete response" }
}

/// One HTTP/1.1 request on a fresh connection, read whole, bounded by `timeout`
/// (`fsm proxy get ...` uses it for the admin port).
public enum SimpleHTTPClient {
    public static func request(
        host: String, port: Int, method: HTTPMethod = .GET, path: String, headers: [(String, String)] = [], body: String? = nil,
        timeout: TimeAmount = .seconds(10), group: (any EventLoopGroup)? = nil, localAddress: String? = nil
    ) async throws -> SimpleHTTPResponse {
        let group = group ?? MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let promise = loop.makePromise(of: SimpleHTTPResponse.self)
        let channel: any Channel
        do {
            var bootstrap = ClientBootstrap(group: loop)
            // From a given address (a pod's own, which the controller checks for certificates).
            if let localAddress { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: localAddress, port: 0)) }
            channel = try await bootstrap
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(promise: promise))
                }
            }
            .connect(host: host, port: port)
            .get()
        } catch {
            promise.fail(error)
            throw error
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "host", value: "\(host):\(port)")
        for (name, value) in headers { head.headers.replaceOrAdd(name: name, value: value) }
        if !head.headers.contains(name: "host") { head.headers.add(name: "host", value: host) }
        head.headers.add(name: "content-length", value: String(body?.utf8.count ?? 0))
        head.headers.add(name: "connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(string: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            // Cancelling the calling task closes the connection, so a long poll ends at once.
            let response = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            channel.close(promise: nil)
            return response
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private final class CollectingHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        private let promise: EventLoopPromise<SimpleHTTPResponse>
        private var response: SimpleHTTPResponse?
        private var done = false

        init(promise: EventLoopPromise<SimpleHTTPResponse>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                guard head.status.code >= 200 else { return }
                response = SimpleHTTPResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: "")
            case .body(let buffer):
                response?.body += String(buffer: buffer)
            case .end:
                guard let response, !done else { return }
                done = true
                promise.succeed(response)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !done {
                done = true
                promise.fail(SimpleHTTPClientError.connectionClosedEarly)
            }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if !done {
                done = true
                promise.fail(error)
            }
            context.close(promise: nil)
        }
    }
}
