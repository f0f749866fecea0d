import MeshTesting
import Testing
@testable import MeshProxy

/// B3 propagation: what a request's headers say of its trace, the next hop's headers, new traces.
@Suite struct B3ContextTests {
    func head(_ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(authority: "bookstore", headers: headers.map { HTTPHeader(name: $0.0, value: $0.1) })
    }

    @Test func wideAndNarrowTraceIDsAreRead() throws {
        let wide = try #require(B3Context(head([("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124"), ("x-b3-spanid", "a2fb4a1d1a96d312"),
                                                ("x-b3-parentspanid", "0020000000000001"), ("x-b3-sampled", "1")])))
        #expect(wide.traceID == "463ac35c9f6413ad48485a3953bb6124")
        #expect(wide.spanID == 0xa2fb4a1d1a96d312 && wide.parentSpanID == 0x0020000000000001 && wide.sampled)
        let narrow = try #require(B3Context(head([("x-b3-traceid", "48485a3953bb6124"), ("x-b3-spanid", "0000000000000001")])))
        #expect(narrow.traceID == "48485a3953bb6124" && !narrow.wide)
    }

    @Test(arguments: [
        [("x-b3-spanid", "a2fb4a1d1a96d312")],                                          // no trace id
        [("x-b3-traceid", "463ac35c9f6413ad"), ("x-b3-spanid", "zz")],                  // bad span id
        [("x-b3-traceid", "463ac35c9f6413ad4848"), ("x-b3-spanid", "a2fb4a1d1a96d312")], // 20 digits
        [("x-b3-traceid", "0000000000000000"), ("x-b3-spanid", "a2fb4a1d1a96d312")],     // zero trace id
    ])
    func malformedContextsStartNewTraces(_ headers: [(String, String)]) {
        #expect(B3Context(head(headers)) == nil)
    }

    @Test func samplingDecisionIsKeptAndDebugForcesIt() throws {
        let base = [("x-b3-traceid", "48485a3953bb6124"), ("x-b3-spanid", "0000000000000001")]
        #expect(try #require(B3Context(head(base + [("x-b3-sampled", "0")]))).sampled == false)
        #expect(try #require(B3Context(head(base + [("x-b3-sampled", "0"), ("x-b3-flags", "1")]))).sampled == true)
        #expect(try #require(B3Context(head(base))).sampled == true)
    }

    @Test func theNextHopIsAChildWithTheSameTrace() throws {
        var random = SeededGenerator(seed: 7)
        let root = B3Context.root(sampledFraction: 1, random: &random)
        #expect(root.parentSpanID == nil && root.sampled && root.traceID.count == 32)
        let child = root.child(random: &random)
        #expect(child.traceID == root.traceID && child.parentSpanID == root.spanID && child.spanID != root.spanID)
        let names = child.headers.map(\.name)
        #expect(names == ["x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled"])
        // What the next hop reads back is what was sent.
        #expect(B3Context(head(child.headers.map { ($0.name, $0.value) })) == child)
    }

    @Test func sampledFractionSamplesThatShareOfNewTraces() {
        var random = SeededGenerator(seed: 1)
        let sampled = (0..<10_000).filter { _ in B3Context.root(sampledFraction: 0.25, random: &random).sampled }.count
        #expect((2_200...2_800).contains(sampled), "\(sampled)")
        #expect(B3Context.root(sampledFraction: 0, random: &random).sampled == false)
    }

    @Test(arguments: [UInt64(0), 1, 0xa2fb4a1d1a96d312, 0x0020000000000001, .max])
    func idsAreSixteenLowercaseHexDigits(value: UInt64) {
        let digits = String(value, radix: 16)
        #expect(B3Context.hex(value) == String(repeating: "0", count: 16 - digits.count) + digits)
    }

    @Test func aRequestIDIsTwoRandomWordsGroupedAsAUUID() {
        struct Words: RandomNumberGenerator {
            var values: [UInt64]
            mutating func next() -> UInt64 { values.removeFirst() }
        }
        var random = Words(values: [0x463ac35c9f6413ad, 0x0000000000000a0f])
        #expect(Sidecar.requestID(random: &random) == "463ac35c-9f64-13ad-0000-000000000a0f")
    }

    @Test func oneHeaderPassFindsTheFirstOfEachNameInAnyCase() throws {
        let found = B3Headers([HTTPHeader(name: "Accept", value: "*/*"), HTTPHeader(name: "X-B3-TRACEID", value: "48485a3953bb6124"),
                               HTTPHeader(name: "x-b3-traceid", value: "0000000000000002"), HTTPHeader(name: "X-Request-Id", value: "r"),
                               HTTPHeader(name: "x-b3-SpanId", value: "A2FB4A1D1A96D312"), HTTPHeader(name: "x-b3-parentspanid", value: "1"),
                               HTTPHeader(name: "x-b3-sampled", value: "0"), HTTPHeader(name: "X-B3-Flags", value: "1"), HTTPHeader(name: "x-b3-other", value: "z")])
        #expect(found.traceID == "48485a3953bb6124" && found.spanID == "A2FB4A1D1A96D312" && found.parentSpanID == "1")
        #expect(found.sampled == "0" && found.flags == "1" && found.hasRequestID)
        let context = try #require(B3Context(found))
        #expect(context.traceLow == 0x4848_5a39_53bb_6124 && context.spanID == 0xa2fb_4a1d_1a96_d312 && context.parentSpanID == 1 && context.sampled)
        #expect(B3Headers([HTTPHeader(name: "x-request-idd", value: "r"), HTTPHeader(name: "host", value: "x")]).hasRequestID == false)
    }

    @Test(arguments: ["a2fb4a1d1a96d312", "A2FB4A1D1A96D312", "+a2fb4a1d1a96d31", "-0", "12 4", "", "10000000000000000", "é"])
    func hexIDsAreReadAsUInt64ReadsThem(text: String) {
        let expected = (1...16).contains(text.utf8.count) ? UInt64(text, radix: 16) : nil
        #expect(B3Context.hex64(text) == expected)
    }
}
