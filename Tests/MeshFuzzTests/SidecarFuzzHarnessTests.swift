import Foundation
import MeshFuzz
import MeshFuzzSidecar
import Testing

/// The sidecar fuzz entry over its seeds, and what the harness's in-memory mesh does with
/// ordinary requests: a harness whose requests never reached the app would fuzz only the front door.
@Suite struct SidecarFuzzHarnessTests {
    let harness = SidecarFuzzHarness()

    func run(_ input: SidecarFuzzInput) throws -> String {
        try harness.run(input)
        return String(decoding: harness.received, as: UTF8.self)
    }

    func outbound(_ text: String, readSize: Int? = nil, clockRuns: Bool = false, app: String? = nil) throws -> String {
        try run(SidecarFuzzInput(listener: .outbound, readSize: readSize, clockRuns: clockRuns, downstream: Array(text.utf8), appScript: app.map { Array($0.utf8) }))
    }

    static let host = "Host: bookstore.bookstore:14001\r\n"

    @Test func everySeedRunsWithoutAFinding() throws {
        let files = SeedCorpus.files("fuzz/seeds/sidecar")
        #expect(files.count >= 15)
        for file in files {
            let bytes = try SeedCorpus.bytes(file)
            do {
                try bytes.fuzz(harness.run)
            } catch {
                Issue.record("\(file.lastPathComponent): \(error)")
            }
        }
    }

    @Test func aRoutedGETGoesThroughBothSidecarsToTheAppAndBack() throws {
        let response = try outbound("GET /books-bought HTTP/1.1\r\n\(Self.host)user-agent: go-http-client/1.1\r\nclient-app: bookbuyer\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nok"))
        #expect(harness.stats(ofServer: true).contains("inbound.rq_2xx: 1\n"))
    }

    @Test func aPathNoRouteAllowsIsRefusedAndTheAppNeverSeesIt() throws {
        let response = try outbound("GET /books-stolen HTTP/1.1\r\n\(Self.host)\r\n\r\n")
        #expect(!response.hasPrefix("HTTP/1.1 200"))
        #expect(harness.stats(ofServer: true).contains("inbound.rq_2xx: 0\n"))
    }

    @Test func a503IsRetriedTwiceThenAnswered() throws {
        let response = try outbound("GET /status/503 HTTP/1.1\r\n\(Self.host)\r\n")
        #expect(response.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(harness.stats(ofServer: true).contains("inbound.rq_5xx: 3\n"))
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let response = try outbound("GET /status/201 HTTP/1.1\r\n\(Self.host)\r\nGET /status/202 HTTP/1.1\r\n\(Self.host)\r\n", readSize: 8)
        let first = try #require(response.range(of: "HTTP/1.1 201"))
        let second = try #require(response.range(of: "HTTP/1.1 202"))
        #expect(first.lowerBound < second.lowerBound)
    }

    @Test func aChunkedBodyInSmallReadsStreamsThrough() throws {
        let response = try outbound("POST /status/200 HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", readSize: 2)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func aCONNECTToTheTCPPortTunnelsToTheEchoApp() throws {
        let response = try outbound("CONNECT bookstore.bookstore:14003 HTTP/1.1\r\nHost: bookstore.bookstore:14003\r\n\r\nping")
        #expect(response.hasPrefix("HTTP/1.1 200"))
        #expect(response.hasSuffix("ping"))
    }

    @Test func anIncompleteHeadGets408WhenTheClockRuns() throws {
        #expect(try outbound("GET /status/200 HTTP/1.1\r\nHost: bookst", clockRuns: true).hasPrefix("HTTP/1.1 408"))
        // Without the clock, the client goes away first.
        #expect(try outbound("GET /status/200 HTTP/1.1\r\nHost: bookst").isEmpty)
    }

    @Test func whatTheAppAnswersReachesTheClient() throws {
        let response = try outbound("GET /status/200 HTTP/1.1\r\n\(Self.host)\r\n", app: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("abc"))
    }

    @Test func aPeerWithTheClientIdentityReachesTheAppThroughTheInboundListener() throws {
        let text = "GET /status/200 HTTP/1.1\r\n\(Self.host)x-fsm-target-port: 14001\r\nx-fsm-source-identity: \(harness.clientIdentity)\r\n\r\n"
        let response = try run(SidecarFuzzInput(listener: .inbound, downstream: Array(text.utf8)))
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("ok"))
    }

    @Test func h2cRequestsGetHTTP2Frames() throws {
        let file = SeedCorpus.root.appendingPathComponent("fuzz/seeds/sidecar/h2c-get-and-grpc.bin")
        try SeedCorpus.bytes(file).fuzz(harness.run)
        // The server's connection preface: a SETTINGS frame (type 4 on stream 0).
        #expect(harness.received.count > 9 && harness.received[3] == 4)
        #expect(harness.stats(ofServer: true).contains("inbound.rq_2xx: 2\n"))
    }

    /// fuzz-sidecar's finding, minimized: the first request (no route: the sidecar closes the
    /// connection) and the second, delivered after the close, was left counted in progress.
    @Test func aRequestPipelinedBehindAClosingAnswerIsNotLeftInProgress() throws {
        for listener in [SidecarFuzzInput.Listener.outbound, .inbound] {
            try harness.run(SidecarFuzzInput(listener: listener, downstream: Array("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n".utf8)))
        }
    }

    /// fuzz-sidecar's finding, minimized: NIO's client codec refuses a backtick in the target and
    /// the upstream connection closed from within the write, which crashed the sidecar.
    @Test func aTargetTheUpstreamCodecRefusesGets503() throws {
        #expect(try outbound("POST /` HTTP/1.1\r\nHost:bookstore\r\n\r\n").hasPrefix("HTTP/1.1 503"))
    }

    /// fuzz-sidecar's finding, minimized: a refusal before a streaming body ended dropped the body,
    /// which closed connections from within the intake's own update (an exclusivity violation).
    @Test func aRefusalBeforeAnUploadEndsIsNoAccessConflict() throws {
        let response = try outbound("POST / HTTP/1.1\r\nHost:bookstore\r\nTransfer-Encoding:chunked\r\n\r\n", readSize: 4)
        #expect(response.hasPrefix("HTTP/1.1 4"))
    }

    @Test func inputsReadBackAsWritten() {
        let inputs = [
            SidecarFuzzInput(listener: .outbound, downstream: Array("GET".utf8)),
            SidecarFuzzInput(listener: .inbound, readSize: 64, clockRuns: true, peersWait: true, downstream: [0, 1], appScript: []),
            SidecarFuzzInput(listener: .outbound, readSize: 1, downstream: [], appScript: Array("HTTP/1.1".utf8)),
        ]
        for input in inputs {
            #expect(input.bytes.withUnsafeBytes(SidecarFuzzInput.init) == input)
        }
    }
}
