import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A Zipkin collector for tests: `POST /api/v2/spans` with a JSON array is recorded and answered
/// 202; `delay` holds every answer that long (a slow collector); each span is checked against the
/// Zipkin v2 schema as the collector would (`schemaProblems`). Every POST is also kept as it came
/// (`received`: path, `Authorization`, body), so it stands in for other HTTP collectors too (the
/// access log's remote logging).
public final class ZipkinCollectorDouble: Sendable {
    public struct Post: Sendable, Equatable {
        public var path: String
        public var authorization: String?
        public var body: String
    }

    public struct Span: Sendable, Equatable {
        public var traceId: String
        public var id: String
        public var parentId: String?
        public var kind: String?
        public var name: String?
        public var localService: String?
        public var remoteService: String?
        public var tags: [String: String]
        public var shared: Bool
        public var timestamp: Int64
        public var duration: Int64
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let recorded = Mutex<(spans: [Span], problems: [String], posts: Int)>(([], [], 0))
    private let raw = Mutex<[Post]>([])
    let delay: TimeAmount

    public init(delay: TimeAmount = .zero) { self.delay = delay }

    public var spans: [Span] { recorded.withLock { $0.spans } }
    public var posts: Int { recorded.withLock { $0.posts } }
    public var received: [Post] { raw.withLock { $0 } }
    /// Every way a received span broke the Zipkin v2 schema.
    public var schemaProblems: [String] { recorded.withLock { $0.problems } }

    /// Listens on `host:port` (0: a free port); returns the port.
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws -> Int {
        let collector = self
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(collector: collector))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    public func stop() async {
        let bound = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
        try? await group.shutdownGracefully()
    }

    func record(_ body: Data) {
        var spans: [Span] = []
        var problems: [String] = []
        guard let array = (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] else {
            recorded.withLock { $0.problems.append("the body is not a JSON array of objects"); $0.posts += 1 }
            return
        }
        for object in array {
            let (span, found) = Self.check(object)
            problems += found
            if let span { spans.append(span) }
        }
        recorded.withLock { state in
            state.spans += spans
            state.problems += problems
            state.posts += 1
        }
    }

    /// zipkin2-api.yaml's Span: traceId 16 or 32 lower-hex, id 16, parentId 16, kind one of the four,
    /// timestamp and duration positive integers (microseconds), endpoints objects, tags string to string.
    static func check(_ object: [String: Any]) -> (Span?, [String]) {
        var problems: [String] = []
        func hex(_ key: String, lengths: Set<Int>) -> String? {
            guard let value = object[key] as? String else { return nil }
            if !lengths.contains(value.count) || !value.allSatisfy({ "0123456789abcdef".contains($0) }) { problems.append("\(key) \(value) is not \(lengths) lower-hex digits") }
            return value
        }
        let traceId = hex("traceId", lengths: [16, 32]), id = hex("id", lengths: [16]), parentId = hex("parentId", lengths: [16])
        if traceId == nil || id == nil { problems.append("traceId and id are required: \(object)") }
        let kind = object["kind"] as? String
        if let kind, !["CLIENT", "SERVER", "PRODUCER", "CONSUMER"].contains(kind) { problems.append("kind \(kind)") }
        let timestamp = (object["timestamp"] as? NSNumber)?.int64Value ?? 0, duration = (object["duration"] as? NSNumber)?.int64Value ?? 0
        if timestamp <= 0 || duration <= 0 { problems.append("timestamp \(timestamp) and duration \(duration) must be positive microseconds") }
        let local = object["localEndpoint"] as? [String: Any], remote = object["remoteEndpoint"] as? [String: Any]
        let tags = object["tags"] as? [String: String] ?? [:]
        if object["tags"] != nil, object["tags"] as? [String: String] == nil { problems.append("tags must map strings to strings") }
        guard let traceId, let id else { return (nil, problems) }
        return (Span(traceId: traceId, id: id, parentId: parentId, kind: kind, name: object["name"] as? String,
                     localService: local?["serviceName"] as? String, remoteService: remote?["serviceName"] as? String, tags: tags,
                     shared: object["shared"] as? Bool ?? false, timestamp: timestamp, duration: duration), problems)
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let collector: ZipkinCollectorDouble
        var body = Data()
        var head: HTTPRequestHead?
        init(collector: ZipkinCollectorDouble) { self.collector = collector }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = Data()
            case .body(let buffer): body.append(contentsOf: buffer.readableBytesView)
            case .end:
                let post = Post(path: head?.uri ?? "", authorization: head?.headers.first(name: "authorization"), body: String(decoding: body, as: UTF8.self))
                collector.raw.withLock { $0.append(post) }
                collector.record(body)
                let channel = context.channel
                channel.eventLoop.scheduleTask(in: collector.delay) {
                    var headers = HTTPHeaders()
                    headers.add(name: "content-length", value: "0")
                    channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .accepted, headers: headers)), promise: nil)
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
                }
            }
        }
    }
}
