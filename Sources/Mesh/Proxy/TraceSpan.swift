import MeshModel

/// One finished span as the engine records it (Zipkin v2's model): a client span per outbound
/// request a sidecar sends, a server span per inbound request it receives, the server sharing the
/// client's span id (`shared`, as Zipkin's B3 model has it). Times are the engine's; the shell
/// turns them into epoch microseconds when it reports them.
public struct TraceSpan: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case client = "CLIENT", server = "SERVER" }

    public var context: B3Context
    public var kind: Kind
    /// `GET /books-bought`, Zipkin's usual name shape (method and path without the query).
    public var name: String
    public var start: MeshInstant
    public var duration: MeshDuration
    /// The proxy's service (its identity's service account name) and the peer's.
    public var localService: String
    public var remoteService: String?
    /// The peer's address (the upstream endpoint, for a client span).
    public var remoteAddress: SocketAddress?
    /// Sorted by key: `http.method`, `http.path`, `http.status_code`, `upstream_cluster`, `error`.
    public var tags: [String: String]

    public init(context: B3Context, kind: Kind, name: String, start: MeshInstant, duration: MeshDuration, localService: String,
                remoteService: String? = nil, remoteAddress: SocketAddress? = nil, tags: [String: String] = [:]) {
        self.context = context
        self.kind = kind
        self.name = name
        self.start = start
        self.duration = duration
        self.localService = localService
        self.remoteService = remoteService
        self.remoteAddress = remoteAddress
        self.tags = tags
    }

    /// A batch as the collector takes it (the array POSTed to `/api/v2/spans`).
    public static func zipkinBatch(_ spans: [TraceSpan], epochOffsetMicroseconds: Int64) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(spans.count * 400 + 2)
        for (index, span) in spans.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += span.zipkinBytes(epochOffsetMicroseconds: epochOffsetMicroseconds)
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Zipkin v2 JSON, one element of a batch; `epochOffset` maps the engine's instants to
    /// microseconds since the Unix epoch.
    public func zipkinJSON(epochOffsetMicroseconds: Int64) -> String {
        String(decoding: zipkinBytes(epochOffsetMicroseconds: epochOffsetMicroseconds), as: UTF8.self)
    }

    /// The span's object written straight to bytes (`JSONObjectWriter`): a reporter renders every
    /// span the sidecar traces, so no `JSONValue` tree is built first.
    func zipkinBytes(epochOffsetMicroseconds: Int64) -> [UInt8] {
        var object = JSONObjectWriter(reservingCapacity: 400)
        object.field("traceId", asciiBytes: context.traceID.utf8)
        object.field("id", asciiBytes: B3Context.hex(context.spanID).utf8)
        if let parent = context.parentSpanID { object.field("parentId", asciiBytes: B3Context.hex(parent).utf8) }
        object.field("kind", asciiBytes: kind.rawValue.utf8)
        object.field("name", name)
        object.field("timestamp", Int(epochOffsetMicroseconds + start.nanoseconds / 1000))
        object.field("duration", Int(max(1, duration.nanoseconds / 1000)))
        object.beginObject("localEndpoint")
        object.field("serviceName", localService)
        object.endObject()
        let ipv4 = remoteAddress.flatMap { AddressRange.parseIPv4($0.ip) != nil ? $0 : nil }
        if remoteService != nil || ipv4 != nil {
            object.beginObject("remoteEndpoint")
            if let remoteService { object.field("serviceName", remoteService) }
            if let ipv4 {
                object.field("ipv4", ipv4.ip)
                object.field("port", ipv4.port)
            }
            object.endObject()
        }
        if kind == .server { object.field("shared", true) }
        if !tags.isEmpty {
            object.beginObject("tags")
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) { object.field(key: key, value) }
            object.endObject()
        }
        return object.finishBytes()
    }
}
