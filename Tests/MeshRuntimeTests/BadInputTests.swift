import Foundation
import MeshModel
import MeshRuntime
import MeshTestCA
import NIOCore
import NIOHTTP1
import Testing

/// Malformed requests on real sockets (a test address block each): each gets its status or a clean close, is
/// counted, never reaches the app, and the sidecar goes on serving normal requests.
@Suite(.timeLimit(.minutes(1)))
struct BadInputTests {

    /// Sends `bytes` on a fresh connection to the client sidecar's outbound listener.
    static func send(_ mesh: MeshPair, _ bytes: String) async throws -> String {
        try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: bytes, timeout: .seconds(10))
    }

    @Test func malformedRequestLinesGet400() async throws {
        try await MeshPair.run { mesh in
            let lines = [
                "GET\r\n\r\n",
                "GET / HTTP/9.9\r\nHost: echo:8080\r\n\r\n",
                "G\u{01}T / HTTP/1.1\r\nHost: echo:8080\r\n\r\n",
                "GET /a b c HTTP/1.1\r\nHost: echo:8080\r\n\r\n",
            ]
            for line in lines {
                let answer = try await Self.send(mesh, line)
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(line.debugDescription) → \(answer.prefix(40).debugDescription)")
            }
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_bad_request"] == UInt64(lines.count))
        }
    }

    /// Found by fuzz-sidecar (minimized to two pipelined requests the mesh has no route for): the
    /// first closes the connection, and the second, which the decoder still delivered, counted as
    /// a request in progress for good (a shutdown then waited out its whole drain time).
    @Test func requestsPipelinedBehindOneThatClosesTheConnectionAreNotLeftInProgress() async throws {
        try await MeshPair.run { mesh in
            let answer = try await Self.send(mesh, "GET / HTTP/1.1\r\nHost: nowhere:1\r\n\r\nGET / HTTP/1.1\r\nHost: nowhere:1\r\n\r\n")
            #expect(answer.isEmpty)
            try await waitFor { try await mesh.client.onLoop { $0.requestsInProgress } == 0 }
            #expect(try await mesh.get("/after").status == 200)
        }
    }

    /// Found by fuzz-sidecar (minimized to a POST to "/`"): NIO's decoder takes a backtick in the
    /// request target, its client-side validation refuses to send it, and the upstream connection
    /// closing from within that write crashed the sidecar. Each attempt's connection now fails
    /// like any reset one: the app gets 503 and the sidecar goes on serving.
    @Test(arguments: [false, true])
    func aTargetTheUpstreamCodecRefusesGets503InsteadOfACrash(plaintextPeers: Bool) async throws {
        // In plaintext the refused write closes the connection at once (the crash); under mTLS
        // only after the TLS shutdown (the request waited for it).
        let plaintext: (inout SidecarSettings) -> Void = { if plaintextPeers { $0.peerTransport = .insecurePlaintext } }
        try await MeshPair.run(tuneClient: plaintext, tuneServer: plaintext) { mesh in
            let answer = try await Self.send(mesh, "POST /a`b HTTP/1.1\r\nHost: echo:8080\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer.prefix(40).debugDescription)")
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
        }
    }

    @Test func oversizedHeadersGet431() async throws {
        try await MeshPair.run { mesh in
            // Many headers that are each small but together pass the decoder's limit.
            let many = (0..<2000).map { "X-Filler-\($0): \(String(repeating: "v", count: 60))\r\n" }.joined()
            let answer = try await Self.send(mesh, "GET / HTTP/1.1\r\nHost: echo:8080\r\n\(many)\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 431"))
            #expect(answer.lowercased().contains("connection: close"))
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_headers_too_large"] == 1)
        }
    }

    @Test func invalidChunkedBodiesGet400() async throws {
        try await MeshPair.run { mesh in
            let bodies = [
                // A chunk size that overflows.
                "POST / HTTP/1.1\r\nHost: echo:8080\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n",
                // Chunk data without its CRLF.
                "POST / HTTP/1.1\r\nHost: echo:8080\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
                // Both framings at once (request smuggling).
                "POST / HTTP/1.1\r\nHost: echo:8080\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            ]
            for body in bodies {
                let answer = try await Self.send(mesh, body)
                // 400, or a clean close: never an answer from the app.
                #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "\(body.prefix(60).debugDescription) → \(answer.prefix(40).debugDescription)")
            }
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after", method: .POST, body: "fine").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_bad_request"] == UInt64(bodies.count))
        }
    }

    @Test func headerInjectionIsRefused() async throws {
        try await MeshPair.run { mesh in
            let requests = [
                // A bare CR inside a value.
                "GET / HTTP/1.1\r\nHost: echo:8080\r\nX-Injected: a\rSet-Cookie: b\r\n\r\n",
                // A NUL inside a value.
                "GET / HTTP/1.1\r\nHost: echo:8080\r\nX-Injected: a\u{0}b\r\n\r\n",
                // A bare LF ending a header line with a smuggled header after it.
                "GET / HTTP/1.1\r\nHost: echo:8080\r\nX-Injected: a\nX-Smuggled: b\r\n\r\n",
                // A space inside a header name.
                "GET / HTTP/1.1\r\nHost: echo:8080\r\nX Injected: a\r\n\r\n",
            ]
            var refused = 0
            for request in requests {
                let answer = try await Self.send(mesh, request)
                if answer.hasPrefix("HTTP/1.1 400") { refused += 1 }
                #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "\(request.debugDescription) → \(answer.prefix(40).debugDescription)")
            }
            // Nothing of it reached the app.
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
            #expect(mesh.app.seenHeaders.count == 1)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_bad_request"] == UInt64(requests.count))
            #expect(refused == requests.count)
        }
    }

    @Test func malformedRequestsFromAPeerOnTheInboundListenerAreRefusedToo() async throws {
        try await MeshPair.run { mesh in
            // A peer with a good certificate that sends bad HTTP inside the TLS session.
            let peer = try TestCA.shared.issue(MeshPair.clientIdentity)
            let badLine = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: peer, request: "NOT HTTP AT ALL\r\n\r\n", timeout: .seconds(10))
            #expect(badLine.text.hasPrefix("HTTP/1.1 400"))
            let injected = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: peer,
                                                            request: "GET / HTTP/1.1\r\nhost: echo:8080\r\nx-fsm-target-port: 8080\r\nx-a: b\u{0}c\r\n\r\n", timeout: .seconds(10))
            #expect(injected.text.hasPrefix("HTTP/1.1 400"))
            let many = (0..<2000).map { "x-filler-\($0): \(String(repeating: "v", count: 60))\r\n" }.joined()
            let oversized = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: peer,
                                                             request: "GET / HTTP/1.1\r\nhost: echo:8080\r\n\(many)\r\n", timeout: .seconds(10))
            #expect(oversized.text.hasPrefix("HTTP/1.1 431"))
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_bad_request"] == 2)
            #expect(stats["runtime.downstream_rq_headers_too_large"] == 1)
        }
    }

    // MARK: Host headers (RFC 9112 §3.2) and malformed admin requests

    static let peer = Result { try TestCA.shared.issue(MeshPair.clientIdentity) }

    /// `answer` is a 400 in `version` that closes the connection, with exactly `body`.
    static func expectBadRequest(_ answer: String, body: String, version: String = "HTTP/1.1", sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(answer.hasPrefix("\(version) 400 Bad Request\r\n"), "\(answer.debugDescription)", sourceLocation: sourceLocation)
        #expect(answer.lowercased().contains("\r\nconnection: close\r\n"), "\(answer.debugDescription)", sourceLocation: sourceLocation)
        #expect(answer.hasSuffix("\r\n\r\n" + body), "\(answer.debugDescription)", sourceLocation: sourceLocation)
    }

    @Test func twoHostHeadersGet400OnEveryListener() async throws {
        try await MeshPair.run { mesh in
            let twice = "GET / HTTP/1.1\r\nHost: echo:8080\r\nHost: evil:8080\r\nx-fsm-target-port: 8080\r\n\r\n"
            Self.expectBadRequest(try await Self.send(mesh, twice), body: "more than one Host header\n")
            let inbound = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: try Self.peer.get(), request: twice, timeout: .seconds(10))
            Self.expectBadRequest(inbound.text, body: "more than one Host header\n")
            let admin = try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: "GET /stats HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
            Self.expectBadRequest(admin, body: "more than one Host header\n")
            let invalid = try await Self.send(mesh, "GET / HTTP/1.1\r\nHost: echo:8080/evil\r\n\r\n")
            Self.expectBadRequest(invalid, body: "invalid Host header\n")
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
            #expect(parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["runtime.downstream_rq_bad_request"] == 3)
            #expect(parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)["runtime.downstream_rq_bad_request"] == 1)
        }
    }

    @Test func requestsWithoutHostGet400SayingWhy() async throws {
        try await MeshPair.run { mesh in
            // The outbound listener routes by Host: without one, HTTP/1.0 or 1.1, it says so.
            let routing = "missing Host header: the sidecar routes requests by their Host\n"
            Self.expectBadRequest(try await Self.send(mesh, "GET /old HTTP/1.0\r\n\r\n"), body: routing, version: "HTTP/1.0")
            Self.expectBadRequest(try await Self.send(mesh, "GET /new HTTP/1.1\r\n\r\n"), body: routing)
            // HTTP/1.0 that names its Host is served (and the connection closes, as 1.0 asks).
            let old = try await Self.send(mesh, "GET /old HTTP/1.0\r\nHost: echo:8080\r\n\r\n")
            #expect(old.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(old.hasSuffix("\r\n\r\nGET /old "))
            // So is an absolute-form target without Host (the target names the authority).
            let absolute = try await Self.send(mesh, "GET http://echo:8080/abs HTTP/1.0\r\n\r\n")
            #expect(absolute.hasSuffix("\r\n\r\nGET /abs "))
            // Elsewhere RFC 9112's rule: HTTP/1.1 needs a Host, HTTP/1.0 may go without.
            let rfc = "missing Host header (HTTP/1.1 requires one)\n"
            let inbound = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: try Self.peer.get(),
                                                           request: "GET / HTTP/1.1\r\nx-fsm-target-port: 8080\r\n\r\n", timeout: .seconds(10))
            Self.expectBadRequest(inbound.text, body: rfc)
            Self.expectBadRequest(try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: "GET /ready HTTP/1.1\r\n\r\n"), body: rfc)
            let adminOld = try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: "GET /ready HTTP/1.0\r\n\r\n")
            #expect(adminOld.hasPrefix("HTTP/1.1 200 OK\r\n") && adminOld.hasSuffix("\r\n\r\nready\n"))
            #expect(mesh.app.seenHeaders.count == 2)
            #expect(parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["runtime.downstream_rq_bad_request"] == 3)
            #expect(parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)["runtime.downstream_rq_bad_request"] == 1)
        }
    }

    @Test func malformedRequestsOnTheAdminPortGet400() async throws {
        try await MeshPair.run { mesh in
            let cases: [(request: String, status: String, body: String)] = [
                ("G\u{01}T /stats HTTP/1.1\r\nHost: admin\r\n\r\n", "400 Bad Request", "malformed request: invalid method\n"),
                ("GET /stats HTTP/9.9\r\nHost: admin\r\n\r\n", "400 Bad Request", "malformed request: invalid HTTP version\n"),
                ("GET /stats HTTP/1.1\r\nHost: admin\r\nX Bad: header\r\n\r\n", "400 Bad Request",
                 "malformed request: invalid character in the request line or a header\n"),
                ("GET /stats HTTP/1.1\r\nHost: admin\r\n" + (0..<2000).map { "X-Filler-\($0): \(String(repeating: "v", count: 60))\r\n" }.joined() + "\r\n",
                 "431 Request Header Fields Too Large", "request headers too large\n"),
            ]
            for (request, status, body) in cases {
                let answer = try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: request)
                #expect(answer.hasPrefix("HTTP/1.1 \(status)\r\n"), "\(request.prefix(40).debugDescription) → \(answer.debugDescription)")
                #expect(answer.hasSuffix("\r\n\r\n" + body), "\(request.prefix(40).debugDescription) → \(answer.debugDescription)")
                #expect(answer.lowercased().contains("\r\nconnection: close\r\n"))
            }
            // The same parser errors on the data path say the same.
            Self.expectBadRequest(try await Self.send(mesh, "G\u{01}T / HTTP/1.1\r\nHost: echo:8080\r\n\r\n"), body: "malformed request: invalid method\n")
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_bad_request"] == 4)
            #expect(stats["runtime.downstream_rq_headers_too_large"] == 1)
            // Only GET; a request with a body is answered and the connection closed.
            let post = try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: "POST /stats HTTP/1.1\r\nHost: admin\r\ncontent-length: 100000\r\n\r\nabc")
            #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n") && post.hasSuffix("\r\n\r\nonly GET\n"))
        }
    }
}
