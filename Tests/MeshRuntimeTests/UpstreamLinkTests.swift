import Foundation
import MeshModel
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The upstream HTTP/1.1 link under NIO's EmbeddedChannel: requests written in order on one
/// connection, each response delivered to its own app connection, and the connection's failures
/// (a reset mid-response, an answer nobody asked for) as the app and the counters see them.
@Suite struct UpstreamLinkTests {
    static let clientIP = "127.88.4.1"
    static let serverIP = "127.88.4.2"
    static let request = "GET /a HTTP/1.1\r\nHost: echo:8080\r\n\r\n"

    static func sidecar() throws -> EmbeddedSidecar {
        try EmbeddedSidecar(config: MeshPair.clientConfig(serverIP: serverIP), podIP: clientIP)
    }

    @Test func aKeptAliveConnectionCarriesTheNextRequestAndEachResponseReachesItsApp() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        let second = try sidecar.accept()
        try sidecar.send(Self.request)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst")
        try sidecar.send(Self.request.replacing("/a", with: "/b"), on: second)
        #expect(sidecar.upstreams.count == 1, "the pooled connection is reused")
        let written = sidecar.upstreamRequest()
        #expect(written.contains("GET /a HTTP/1.1") && written.contains("GET /b HTTP/1.1"))
        #expect(written.range(of: "GET /a")!.lowerBound < written.range(of: "GET /b")!.lowerBound)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond")
        #expect(sidecar.answer().hasSuffix("first"))
        #expect(sidecar.answer(on: second).hasSuffix("second"))
    }

    @Test func aResetMidResponseClosesTheAppsConnection() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart")
        #expect(sidecar.answer().hasSuffix("part"))
        sidecar.upstreams[0].close(promise: nil)
        sidecar.loop.run()
        #expect(!sidecar.appChannel.isActive)
        #expect(sidecar.driver.occupancy.upstreams == 0)
    }

    @Test func aResetBeforeTheResponseIsCountedAndTheEngineAnswers() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        sidecar.upstreams[0].close(promise: nil)
        sidecar.loop.run()
        #expect(sidecar.stat("runtime.upstream_cx_reset") == 1)
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 503"))
        #expect(sidecar.driver.occupancy.upstreams == 0)
    }

    @Test func aResponseNobodyAskedForClosesTheConnection() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 200"))
        try? sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        #expect(!sidecar.upstreams[0].isActive)
        #expect(sidecar.driver.occupancy.upstreams == 0)
    }

    /// The engine's route timeout, through the driver's clock (virtual time): the attempt is
    /// abandoned, its link closed, and an answer that comes late reaches nobody.
    @Test func theRouteTimeoutClosesTheLinkAndALateAnswerReachesNobody() throws {
        let sidecar = try EmbeddedSidecar(config: MeshPair.clientConfig(serverIP: Self.serverIP, requestTimeout: .seconds(2)), podIP: Self.clientIP)
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        sidecar.advance(.milliseconds(1999))
        #expect(sidecar.answer().isEmpty)
        #expect(sidecar.upstreams[0].isActive)
        sidecar.advance(.milliseconds(1))
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 504"))
        #expect(!sidecar.upstreams[0].isActive)
        try? sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nlate")
        #expect(sidecar.answer().isEmpty)
        #expect(sidecar.driver.occupancy.upstreams == 0)
    }

    /// A head that may not go on the wire (a request-target with `{`, which the app's parser lets
    /// through and RFC 9112 does not: `ForwardedRequestCheck`, NIO's validator's rule) is not
    /// written: the connection goes, and the app gets the engine's answer for a lost attempt.
    @Test func aHeadThatMayNotBeSentIsNotWrittenAndItsConnectionGoes() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request.replacing("/a", with: "/a{b}"))
        #expect(sidecar.upstreams.count == 1)
        #expect(sidecar.upstreams.first.map { EmbeddedSidecar.drain($0) } == "")
        #expect(sidecar.upstreams.first?.isActive == false)
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 503"))
        #expect(sidecar.driver.occupancy.upstreams == 0)
    }

    @Test func theForwardedRequestCheckTakesWhatRFC9112AllowsOnTheWire() {
        #expect(ForwardedRequestCheck.mayBeSent(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a/b?c=d&e=%20#f", headers: ["x-ok": "a\tb é"])))
        for uri in ["/a b", "/a{b", "/a|b", "/a\"b", "/a\r\nb", "/a^b"] {
            #expect(!ForwardedRequestCheck.mayBeSent(HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)), "\(uri)")
        }
        #expect(ForwardedRequestCheck.mayBeSent(HTTPRequestHead(version: .http1_1, method: .RAW(value: "PURGE-ALL"), uri: "/")))
        #expect(!ForwardedRequestCheck.mayBeSent(HTTPRequestHead(version: .http1_1, method: .RAW(value: "GET /x"), uri: "/")))
        #expect(!ForwardedRequestCheck.mayBeSent(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["x-lf": "a\nb"])))
        #expect(!ForwardedRequestCheck.mayBeSent(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["bad name": "v"])))
    }
}
