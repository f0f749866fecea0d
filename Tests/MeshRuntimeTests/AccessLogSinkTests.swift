import Foundation
@testable import MeshRuntime
import MeshModel
import MeshProxy
import NIOConcurrencyHelpers
import Testing

/// The access log's writer side: lines leave in batches (on an interval, or at once when a quarter
/// of the buffer is full), and a flush writes what is there.
struct AccessLogSinkTests {
    final class Writes: Sendable {
        private let batches = NIOLockedValueBox<[String]>([])
        func record(_ text: String) { batches.withLockedValue { $0.append(text) } }
        var all: [String] { batches.withLockedValue { $0 } }
    }

    @Test func aQuarterFullBufferIsWrittenAtOnceAsOneBatch() async throws {
        let writes = Writes()
        let sink = AccessLogSink(capacity: 40, flushInterval: .seconds(600)) { writes.record($0) }
        for index in 0..<10 { #expect(sink.offer("line \(index)\n")) }
        try await waitFor { writes.all.count == 1 }
        #expect(writes.all == [(0..<10).map { "line \($0)\n" }.joined()])
    }

    @Test func flushWritesWhatTheIntervalWouldHaveWrittenLater() {
        let writes = Writes()
        let sink = AccessLogSink(capacity: 40, flushInterval: .seconds(600)) { writes.record($0) }
        sink.offer("a\n")
        sink.offer("b\n")
        sink.flush()
        #expect(writes.all == ["a\nb\n"])
        sink.flush()
        #expect(writes.all == ["a\nb\n"])
    }

    @Test func theIntervalWritesALoneLine() async throws {
        let writes = Writes()
        let sink = AccessLogSink(capacity: 40, flushInterval: .milliseconds(10)) { writes.record($0) }
        sink.offer("alone\n")
        try await waitFor { writes.all == ["alone\n"] }
    }

    /// A file sink creates its file 0600 and appends to one that exists; a path it cannot open is
    /// one line naming it.
    @Test func aFileSinkAppendsToAFileItCreates0600() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("access-log-sink-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/access.log"
        let first = try AccessLogSink.file(path)
        first.offer("one\n")
        first.flush()
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o600)
        let second = try AccessLogSink.file(path)
        second.offer("two\n")
        second.flush()
        first.offer("three\n")
        first.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\nthree\n")
        #expect(throws: AccessLogSinkError.self) { try AccessLogSink.file(directory + "/missing/access.log") }
        #expect("\(AccessLogSinkError(path: "/x/y"))" == "cannot open the access log /x/y for writing")
    }

    @Test func anEntryIsOneLineWithItsKeysInOrder() throws {
        var entry = AccessLogEntry(direction: .outbound, startTime: Date(timeIntervalSince1970: 1_796_575_537.125),
                                   method: "GET", authority: "bookstore:14001", path: "/books-bought")
        entry.status = 503
        entry.flags = [.upstreamConnectionFailure]
        entry.bytesSent = 19
        entry.durationMs = 1.23456
        entry.upstreamCluster = "bookstore/bookstore|14001"
        entry.requestID = "r\"1"
        #expect(entry.line == """
            {"start_time":"2026-12-06T16:45:37.125Z","direction":"outbound","method":"GET","authority":"bookstore:14001",\
            "path":"/books-bought","protocol":"HTTP/1.1","response_code":503,"response_flags":"UF","bytes_received":0,\
            "bytes_sent":19,"duration":1.235,"upstream_host":null,"upstream_cluster":"bookstore/bookstore|14001",\
            "peer_identity":null,"x_request_id":"r\\"1","trace_id":null}

            """)
    }
}
