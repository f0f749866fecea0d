import MeshProxy
import NIOHTTP1
import Testing
@testable import MeshRuntime

/// Tracing's headers on the request the shell sends upstream: added on a first hop, replacing the
/// app's own (any case) on the next, everything else left as it was.
@Suite struct TracingHeadersTests {
    static let tracing = [MeshProxy.HTTPHeader(name: "x-b3-traceid", value: "48485a3953bb6124"), MeshProxy.HTTPHeader(name: "x-b3-spanid", value: "0000000000000002"),
                          MeshProxy.HTTPHeader(name: "x-request-id", value: "r-2")]

    @Test func aFirstHopGetsThemAdded() {
        var headers = HTTPHeaders([("host", "bookstore"), ("accept", "*/*")])
        headers.replaceOrAdd(tracingHeaders: Self.tracing)
        #expect(headers.map { "\($0.name): \($0.value)" } == ["host: bookstore", "accept: */*", "x-b3-traceid: 48485a3953bb6124",
                                                             "x-b3-spanid: 0000000000000002", "x-request-id: r-2"])
    }

    @Test func theAppsOwnAreReplacedInAnyCase() {
        var headers = HTTPHeaders([("X-B3-TraceId", "0000000000000001"), ("host", "bookstore"), ("X-REQUEST-ID", "r-1"), ("x-b3-spanidx", "keep")])
        headers.replaceOrAdd(tracingHeaders: Self.tracing)
        #expect(headers.map { "\($0.name): \($0.value)" } == ["host: bookstore", "x-b3-spanidx: keep", "x-b3-traceid: 48485a3953bb6124",
                                                             "x-b3-spanid: 0000000000000002", "x-request-id: r-2"])
    }
}
