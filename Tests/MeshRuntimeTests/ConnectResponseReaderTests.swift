import Testing
@testable import MeshRuntime

/// The egress gateway's answer to the sidecar's CONNECT, read before the relay (`ConnectResponseReader`).
@Suite struct ConnectResponseReaderTests {
    @Test func aTwoHundredInPiecesOpensTheTunnelAndKeepsWhatFollows() {
        var reader = ConnectResponseReader()
        #expect(reader.feed(Array("HTTP/1.1 200 Connection Est".utf8)) == .incomplete)
        #expect(reader.feed(Array("ablished\r\n\r".utf8)) == .incomplete)
        #expect(reader.feed(Array("\nSSH-2.0".utf8)) == .established(rest: Array("SSH-2.0".utf8)))
        // Done: later bytes are not the reader's.
        #expect(reader.feed(Array("HTTP/1.1 500 x\r\n\r\n".utf8)) == .incomplete)
    }

    @Test func headersAndABareStatusLineAreAccepted() {
        var reader = ConnectResponseReader()
        #expect(reader.feed(Array("HTTP/1.0 204\r\nvia: gw\r\n\r\n".utf8)) == .established(rest: []))
    }

    @Test func refusalsAndNonsenseAreRefused() {
        var forbidden = ConnectResponseReader()
        #expect(forbidden.feed(Array("HTTP/1.1 403 Forbidden\r\n\r\n".utf8)) == .refused(status: 403))
        var notHTTP = ConnectResponseReader()
        #expect(notHTTP.feed(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) == .refused(status: nil))
        var badStatus = ConnectResponseReader()
        #expect(badStatus.feed(Array("HTTP/1.1 2x0 OK\r\n\r\n".utf8)) == .refused(status: nil))
        var glued = ConnectResponseReader()
        #expect(glued.feed(Array("HTTP/1.1 2000\r\n\r\n".utf8)) == .refused(status: nil))
    }

    @Test func aHeadPastTheLimitIsRefused() {
        var reader = ConnectResponseReader(limit: 64)
        #expect(reader.feed(Array("HTTP/1.1 200 OK\r\n".utf8)) == .incomplete)
        #expect(reader.feed([UInt8](repeating: UInt8(ascii: "a"), count: 100)) == .refused(status: nil))
    }
}
