import MeshModel
import Testing
@testable import MeshProxy

/// A span as Zipkin v2 JSON: ids as hex, times in epoch microseconds, the server span shared.
@Suite struct TraceSpanTests {
    let context = B3Context(traceHigh: 0x463a_c35c_9f64_13ad, traceLow: 0x4848_5a39_53bb_6124, spanID: 0xa2fb_4a1d_1a96_d312, parentSpanID: 1)

    @Test func clientSpanJSON() {
        let span = TraceSpan(context: context, kind: .client, name: "GET /buy-a-book/new", start: MeshInstant(nanoseconds: 5_000_000),
                             duration: .milliseconds(3), localService: "bookbuyer", remoteService: "bookstore", remoteAddress: SocketAddress(ip: "10.244.0.11", port: 14001),
                             tags: ["http.status_code": "200", "http.method": "GET"])
        #expect(span.zipkinJSON(epochOffsetMicroseconds: 1_700_000_000_000_000) == """
            {"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"a2fb4a1d1a96d312","parentId":"0000000000000001","kind":"CLIENT",\
            "name":"GET /buy-a-book/new","timestamp":1700000000005000,"duration":3000,"localEndpoint":{"serviceName":"bookbuyer"},\
            "remoteEndpoint":{"serviceName":"bookstore","ipv4":"10.244.0.11","port":14001},"tags":{"http.method":"GET","http.status_code":"200"}}
            """)
    }

    @Test func serverSpanIsSharedAndNeverZeroLong() {
        let span = TraceSpan(context: context, kind: .server, name: "GET /", start: .zero, duration: .zero, localService: "bookstore")
        let json = span.zipkinJSON(epochOffsetMicroseconds: 10)
        #expect(json.contains(#""kind":"SERVER""#) && json.contains(#""shared":true"#) && json.contains(#""duration":1,"#))
        #expect(!json.contains("remoteEndpoint"))
    }

    @Test func aBatchIsTheSpansRenderedOneByOneInAnArray() throws {
        let spans = [
            TraceSpan(context: context, kind: .client, name: "GET /a\"b\\c é", start: MeshInstant(nanoseconds: 5_000_000), duration: .milliseconds(3),
                      localService: "bookbuyer", remoteService: "bookstore", remoteAddress: SocketAddress(ip: "10.244.0.11", port: 14001),
                      tags: ["http.status_code": "503", "error": "true", "upstream_cluster": "bookstore/bookstore|14001", "weird\nkey": "tab\there"]),
            TraceSpan(context: B3Context(traceHigh: 0, traceLow: 7, wide: false, spanID: 9), kind: .server, name: "GET /", start: .zero, duration: .zero,
                      localService: "bookstore"),
            TraceSpan(context: context, kind: .client, name: "POST /", start: .zero, duration: .microseconds(10), localService: "x",
                      remoteAddress: SocketAddress(ip: "[fd00::1]", port: 80)),
        ]
        let batch = TraceSpan.zipkinBatch(spans, epochOffsetMicroseconds: 42)
        // Valid JSON, in the canonical compact form (parsed and rendered again: the same bytes).
        let parsed = try JSONValue(parsing: batch)
        #expect(parsed.rendered() == batch)
        guard case .array(let elements) = parsed else { Issue.record("not an array: \(batch)"); return }
        #expect(elements.count == 3)
        #expect(elements.first?["name"] == .string("GET /a\"b\\c é"))
        #expect(elements.first?["tags"]?["weird\nkey"] == .string("tab\there"))
        #expect(elements.last?["remoteEndpoint"] == nil, "an IPv6 peer without a service name: no remote endpoint")
        #expect(TraceSpan.zipkinBatch([], epochOffsetMicroseconds: 42) == "[]")
    }

    /// The engine keeps a span's fields and builds its tags when it is rendered: the same JSON as
    /// the tags built when it ended (the dictionary the engine filled before DECISIONS 244).
    @Test(arguments: [(200, ResponseFlags()), (0, ResponseFlags.upstreamConnectionFailure), (503, ResponseFlags.upstreamOverflow)])
    func anEngineClientSpanRendersTheTagsItUsedToFill(status: Int, flags: ResponseFlags) {
        let fields = ClientSpanFields(method: "GET", path: "/buy-a-book/new", status: status, cluster: "bookstore/bookstore-v1|14001", flags: flags)
        let endpoint = SocketAddress(ip: "10.244.0.11", port: 14001)
        let span = TraceSpan(context: context, kind: .client, start: .zero, duration: .milliseconds(3), localService: "bookbuyer", remoteAddress: endpoint,
                             detail: .client(fields))
        var tags = ["http.method": "GET", "http.path": "/buy-a-book/new", "http.status_code": String(status), "upstream_cluster": "bookstore/bookstore-v1|14001"]
        if !flags.isEmpty { tags["response_flags"] = flags.description }
        if status == 0 || status >= 500 { tags["error"] = "true" }
        let filled = TraceSpan(context: context, kind: .client, name: "GET /buy-a-book/new", start: .zero, duration: .milliseconds(3), localService: "bookbuyer",
                               remoteService: "bookstore-v1", remoteAddress: endpoint, tags: tags)
        #expect(span.zipkinJSON(epochOffsetMicroseconds: 7) == filled.zipkinJSON(epochOffsetMicroseconds: 7))
        #expect(span.tags == tags && span.name == filled.name && span.remoteService == "bookstore-v1")
    }

    @Test(arguments: [200, 500])
    func anEngineServerSpanRendersTheTagsItUsedToFill(status: Int) {
        let fields = ServerSpanFields(method: "POST", path: "/books", status: status, peerIdentity: "bookbuyer.bookbuyer.cluster.local")
        let span = TraceSpan(context: context, kind: .server, start: .zero, duration: .zero, localService: "bookstore", remoteAddress: nil, detail: .server(fields))
        var tags = ["http.status_code": String(status)]
        if status >= 500 { tags["error"] = "true" }
        let filled = TraceSpan(context: context, kind: .server, name: "POST /books", start: .zero, duration: .zero, localService: "bookstore",
                               remoteService: "bookbuyer", tags: tags)
        #expect(span.zipkinJSON(epochOffsetMicroseconds: 7) == filled.zipkinJSON(epochOffsetMicroseconds: 7))
    }
}
