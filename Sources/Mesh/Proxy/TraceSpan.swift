import MeshModel

/// One finished span as the engine records it (Zipkin v2's model): a client span per outbound
/// request a sidecar sends, a server span per inbound request it receives, the server sharing the
/// client's span id (`shared`, as Zipkin's B3 model has it). Times are the engine's; the shell
/// turns them into epoch microseconds when it reports them.
///
/// The engine ends one or two spans per request on its shell's event loop, so a span keeps what it
/// is made of as plain values (`Detail`: method, path, status, cluster, flags, peer) and its
/// name, remote service and tags are built when they are read: by the reporter, on its own thread,
/// when it renders a batch (DECISIONS 244).
public struct TraceSpan: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case client = "CLIENT", server = "SERVER" }

    public var context: B3Context
    public var kind: Kind
    public var start: MeshInstant
    public var duration: MeshDuration
    /// The proxy's service (its workload's name, else its identity's service account name).
    public var localService: String
    /// The peer's address (the upstream endpoint, for a client span).
    public var remoteAddress: SocketAddress?
    var detail: Detail

    /// What a span's name, remote service and tags are made of.
    enum Detail: Hashable, Sendable {
        /// Given whole (`init(context:kind:name:...)`).
        case given(name: String, remoteService: String?, tags: [String: String])
        /// An outbound request's span as the engine ended it.
        case client(ClientSpanFields)
        /// An inbound request's span as the engine ended it.
        case server(ServerSpanFields)
    }

    public init(context: B3Context, kind: Kind, name: String, start: MeshInstant, duration: MeshDuration, localService: String,
                remoteService: String? = nil, remoteAddress: SocketAddress? = nil, tags: [String: String] = [:]) {
        self.init(context: context, kind: kind, start: start, duration: duration, localService: localService, remoteAddress: remoteAddress,
                  detail: .given(name: name, remoteService: remoteService, tags: tags))
    }

    init(context: B3Context, kind: Kind, start: MeshInstant, duration: MeshDuration, localService: String, remoteAddress: SocketAddress?, detail: Detail) {
        self.context = context
        self.kind = kind
        self.start = start
        self.duration = duration
        self.localService = localService
        self.remoteAddress = remoteAddress
        self.detail = detail
    }

    /// `GET /books-bought`, Zipkin's usual name shape (method and path without the query).
    public var name: String {
        switch detail {
        case let .given(name, _, _): name
        case let .client(fields): "\(fields.method) \(fields.path)"
        case let .server(fields): "\(fields.method) \(fields.path)"
        }
    }

    /// The peer's service: the upstream cluster's for a client span, the caller's identity's
    /// service account for a server span.
    public var remoteService: String? {
        switch detail {
        case let .given(_, remoteService, _): remoteService
        case let .client(fields): fields.cluster.map(Sidecar.serviceName(ofCluster:))
        case let .server(fields): fields.peerIdentity.map(Sidecar.serviceName(ofIdentity:))
        }
    }

    /// `http.method`, `http.path`, `http.status_code`, `upstream_cluster`, `response_flags`, `error`.
    public var tags: [String: String] {
        Dictionary(sortedTags, uniquingKeysWith: { first, _ in first })
    }

    /// The tags sorted by key, as they are rendered.
    var sortedTags: [(key: String, value: String)] {
        switch detail {
        case let .given(_, _, tags): tags.sorted { $0.key < $1.key }
        case let .client(fields): fields.sortedTags
        case let .server(fields): fields.sortedTags
        }
    }
}

/// What a client span's name, remote service and tags are made of.
struct ClientSpanFields: Hashable, Sendable {
    var method: String
    /// The request's path without its query.
    var path: Substring
    /// The answer's status; 0: none (the exchange failed at the transport).
    var status: Int
    /// The cluster of the last attempt (nil: the request never reached one).
    var cluster: String?
    var flags: ResponseFlags

    /// Written in key order: `error`, `http.method`, `http.path`, `http.status_code`,
    /// `response_flags`, `upstream_cluster`.
    var sortedTags: [(key: String, value: String)] {
        var tags: [(key: String, value: String)] = []
        tags.reserveCapacity(6)
        if status == 0 || status >= 500 { tags.append(("error", "true")) }
        tags.append(("http.method", method))
        tags.append(("http.path", String(path)))
        tags.append(("http.status_code", String(status)))
        if !flags.isEmpty { tags.append(("response_flags", flags.description)) }
        if let cluster { tags.append(("upstream_cluster", cluster)) }
        return tags
    }
}

/// What a server span's name, remote service and tags are made of.
struct ServerSpanFields: Hashable, Sendable {
    var method: String
    var path: Substring
    var status: Int
    /// The caller's mesh identity (nil: unknown).
    var peerIdentity: String?

    /// `error` (a 5xx), `http.status_code`.
    var sortedTags: [(key: String, value: String)] {
        status >= 500 ? [("error", "true"), ("http.status_code", String(status))] : [("http.status_code", String(status))]
    }
}

// MARK: - Zipkin v2 JSON

extension TraceSpan {
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
        writeRemoteEndpoint(into: &object)
        if kind == .server { object.field("shared", true) }
        let tags = sortedTags
        if !tags.isEmpty {
            object.beginObject("tags")
            for (key, value) in tags { object.field(key: key, value) }
            object.endObject()
        }
        return object.finishBytes()
    }

    /// The peer's service and IPv4 address, when there is either.
    private func writeRemoteEndpoint(into object: inout JSONObjectWriter) {
        let remoteService = remoteService
        let ipv4 = remoteAddress.flatMap { AddressRange.parseIPv4($0.ip) != nil ? $0 : nil }
        guard remoteService != nil || ipv4 != nil else { return }
        object.beginObject("remoteEndpoint")
        if let remoteService { object.field("serviceName", remoteService) }
        if let ipv4 {
            object.field("ipv4", ipv4.ip)
            object.field("port", ipv4.port)
        }
        object.endObject()
    }
}
