@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// HTTP/1.1 pipelining on a downstream connection: the state machine alone, its handler under
/// EmbeddedChannel (which reads reach the socket), and two pipelined requests through the outbound
/// listener's whole pipeline (`EmbeddedSidecar`).
@Suite struct DownstreamPipeliningTests {
    static let head = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"))

    /// Runs `steps` on a fresh state machine, recording what each call answered: "deliver" or
    /// "wait" for a part or an error, "read" or "hold" for a read, the name of what is delivered
    /// next, "resume" or "-" for a held read.
    struct Script {
        var pipelining = DownstreamPipelining()
        var log: [String] = []
        mutating func part(_ part: HTTPServerRequestPart) { log.append(pipelining.received(part) ? "deliver" : "wait") }
        mutating func error(_ error: HTTPParserError) { log.append(pipelining.received(error) ? "deliver" : "wait") }
        mutating func read() { log.append(pipelining.readRequested() ? "read" : "hold") }
        mutating func answered() { pipelining.responseEnded() }
        mutating func next() { log.append(DownstreamPipeliningTests.name(pipelining.nextToDeliver())) }
        mutating func resume() { log.append(pipelining.resumeRead() ? "resume" : "-") }
        mutating func request() {
            part(DownstreamPipeliningTests.head)
            part(.end(nil))
        }
        /// What was logged since the last call.
        mutating func take() -> [String] {
            defer { log.removeAll() }
            return log
        }
    }

    @Test func aRequestWhoseClientWaitsForTheAnswerNeverHoldsARead() {
        var script = Script()
        script.request()
        #expect(script.pipelining.phase == .responseEndPending)
        // The read NIO asks for after the request (the socket keeps its read interest).
        script.read()
        script.answered()
        #expect(script.pipelining.phase == .idle)
        script.next()
        script.resume()
        #expect(script.take() == ["deliver", "deliver", "read", "nothing", "-"])
    }

    @Test func aPipelinedRequestWaitsForTheAnswerBeforeItAndHoldsReadsMeanwhile() {
        var script = Script()
        script.request()
        script.part(Self.head)
        script.part(.body(ByteBuffer(string: "x")))
        script.part(.end(nil))
        script.read()
        #expect(script.take() == ["deliver", "deliver", "wait", "wait", "wait", "hold"])
        #expect(script.pipelining.readHeld)
        // The first answer ends: the second request goes on whole, then the held read.
        script.answered()
        for _ in 0..<4 { script.next() }
        script.resume()
        #expect(script.take() == ["head", "body", "end", "nothing", "resume"])
        #expect(script.pipelining.phase == .responseEndPending)
        #expect(!script.pipelining.readHeld)
    }

    @Test func onlyOneWaitingRequestGoesOnPerAnswer() {
        var script = Script()
        for _ in 0..<3 { script.request() }
        script.read()
        _ = script.take()
        script.answered()
        for _ in 0..<3 { script.next() }
        // A third request still waits: the read stays held.
        script.resume()
        script.answered()
        for _ in 0..<3 { script.next() }
        script.resume()
        #expect(script.take() == ["head", "end", "nothing", "-", "head", "end", "nothing", "resume"])
    }

    @Test func anEarlyAnswerWaitsForItsRequestsEnd() {
        var script = Script()
        script.part(Self.head)
        script.answered()
        #expect(script.pipelining.phase == .requestEndPending)
        script.part(.body(ByteBuffer(string: "rest")))
        script.part(.end(nil))
        #expect(script.pipelining.phase == .idle)
        script.part(Self.head)
        #expect(script.take() == ["deliver", "deliver", "deliver", "deliver"])
    }

    @Test func aMalformedRequestBehindAnAnswerWaitsAndIsThenAnsweredAsARequest() {
        var script = Script()
        script.request()
        script.error(.invalidMethod)
        script.answered()
        script.next()
        // Its 400 is the response in progress now: the next error waits behind it.
        #expect(script.pipelining.phase == .responseEndPending)
        script.error(.invalidMethod)
        #expect(script.take() == ["deliver", "deliver", "wait", "error", "wait"])
    }

    @Test func aClosedConnectionDropsWhatWaited() {
        var script = Script()
        script.request()
        script.part(Self.head)
        script.pipelining.connectionClosed()
        #expect(!script.pipelining.hasWaiting)
        script.answered()
        script.next()
        #expect(script.take() == ["deliver", "deliver", "wait", "nothing"])
    }

    // MARK: The handler

    /// Counts the reads that reach the channel (the socket's read interest).
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// What reaches the listener's handler: part names and errors in order.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var seen: [String] = []
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            seen.append((error as? HTTPParserError) == .invalidHeaderToken ? "invalid header token" : "error")
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): seen.append("head \(head.uri)")
            case .body: seen.append("body")
            case .end: seen.append("end")
            }
        }
    }

    static func channel() throws -> (EmbeddedChannel, ReadCounter, Recorder) {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let recorder = Recorder()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(DownstreamPipeliningHandler())
        try channel.pipeline.syncOperations.addHandler(recorder)
        return (channel, counter, recorder)
    }

    static func request(_ uri: String) -> [HTTPServerRequestPart] {
        [.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)), .end(nil)]
    }

    static func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    @Test func theHandlerPassesReadsOnBetweenRequestsAndHoldsThemForAPipelinedOne() throws {
        let (channel, counter, recorder) = try Self.channel()
        defer { _ = try? channel.finish() }
        for part in Self.request("/a") { try channel.writeInbound(part) }
        channel.read()
        #expect(counter.reads == 1)
        for part in Self.request("/b") { try channel.writeInbound(part) }
        #expect(recorder.seen == ["head /a", "end"])
        channel.read()
        #expect(counter.reads == 1)
        try Self.answer(channel)
        #expect(recorder.seen == ["head /a", "end", "head /b", "end"])
        // The held read goes on once nothing waits.
        #expect(counter.reads == 2)
        try Self.answer(channel)
        channel.read()
        #expect(counter.reads == 3)
    }

    @Test func removingTheHandlerDeliversWhatWaitedAndItsHeldRead() throws {
        let (channel, counter, recorder) = try Self.channel()
        defer { _ = try? channel.finish() }
        let handler = try channel.pipeline.syncOperations.handler(type: DownstreamPipeliningHandler.self)
        for part in Self.request("/a") + Self.request("/b") { try channel.writeInbound(part) }
        channel.read()
        #expect(counter.reads == 0)
        channel.pipeline.syncOperations.removeHandler(handler, promise: nil)
        #expect(recorder.seen == ["head /a", "end", "head /b", "end"])
        #expect(counter.reads == 1)
    }

    /// A head that may not be sent (a CR LF in a value: header injection) fails its write, the
    /// listener's handler hears why once, and nothing more of the answer is written.
    @Test func aResponseHeadThatMayNotBeSentIsRefusedAndNothingMoreIsWritten() throws {
        let (channel, _, recorder) = try Self.channel()
        defer { _ = try? channel.finish() }
        for part in Self.request("/a") { try channel.writeInbound(part) }
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["x-added": "v\r\nset-cookie: stolen"])
        let refused = channel.write(HTTPServerResponsePart.head(head))
        let end = channel.write(HTTPServerResponsePart.end(nil))
        channel.flush()
        #expect(throws: HTTPParserError.invalidHeaderToken) { try refused.wait() }
        #expect(throws: HTTPParserError.invalidHeaderToken) { try end.wait() }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(recorder.seen == ["head /a", "end", "invalid header token"])
    }

    @Test func theResponseCheckTakesTokensAndFieldValuesAsRFC9110Says() {
        #expect(ResponseHeadCheck.mayBeSent(["x-ok": "a\tb é", "x-2": ""]))
        #expect(!ResponseHeadCheck.mayBeSent(["x-bad name": "v"]))
        #expect(!ResponseHeadCheck.mayBeSent(["x-null": "a\u{0}b"]))
        #expect(!ResponseHeadCheck.mayBeSent(["x-lf": "a\nb"]))
        #expect(!ResponseHeadCheck.mayBeSent(["x-del": "a\u{7F}"]))
        #expect(ResponseHeadCheck.mayBeSent(HTTPResponseStatus.custom(code: 299, reasonPhrase: "Fine Thanks")))
        #expect(!ResponseHeadCheck.mayBeSent(HTTPResponseStatus.custom(code: 299, reasonPhrase: "Fine\r\nx: y")))
        #expect(ResponseHeadCheck.mayBeSent(HTTPServerResponsePart.end(["grpc-status": "0"])))
        #expect(!ResponseHeadCheck.mayBeSent(HTTPServerResponsePart.end(["grpc-message": "a\rb"])))
    }

    @Test func twoPipelinedRequestsThroughTheOutboundListenerAreAnsweredInOrder() throws {
        let sidecar = try OutboundDownstreamHandlerTests.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET /one HTTP/1.1\r\nHost: echo:8080\r\n\r\nGET /two HTTP/1.1\r\nHost: echo:8080\r\n\r\n")
        let first = sidecar.upstreamRequest()
        #expect(first.hasPrefix("GET /one HTTP/1.1\r\n"))
        #expect(!first.contains("/two"))
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none")
        #expect(sidecar.answer().hasSuffix("\r\n\r\none"))
        // The second went on after the first answer, on the same kept-alive upstream connection.
        #expect(sidecar.upstreamRequest().hasPrefix("GET /two HTTP/1.1\r\n"))
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")
        #expect(sidecar.answer().hasSuffix("\r\n\r\ntwo"))
        #expect(sidecar.driver.requestsInProgress == 0)
    }

    static func name(_ waiting: DownstreamPipelining.Waiting?) -> String {
        switch waiting {
        case .part(.head): "head"
        case .part(.body): "body"
        case .part(.end): "end"
        case .parserError: "error"
        case nil: "nothing"
        }
    }
}
