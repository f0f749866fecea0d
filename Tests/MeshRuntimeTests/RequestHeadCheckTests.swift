@testable import MeshRuntime
import NIOHTTP1
import Testing

/// RFC 9112 §3.2's Host rules and the decoder's errors, as answers, without sockets.
struct RequestHeadCheckTests {
    static func head(_ uri: String = "/", method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, hosts: [String]) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        for host in hosts { headers.add(name: "Host", value: host) }
        return HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)
    }

    @Test func oneValidHostPasses() {
        for host in ["echo", "echo:8080", "echo.default.svc.cluster.local:14001", "10.96.0.10:80", "[::1]:8080", "[fe80::1]", "a-b_c~d"] {
            #expect(RequestHeadCheck.check(Self.head(hosts: [host]), hostUse: .routes) == nil, "\(host)")
        }
    }

    @Test func twoHostLinesAre400() {
        let twice = Self.head(hosts: ["echo:8080", "other:8080"])
        #expect(RequestHeadCheck.check(twice, hostUse: .routes) == RequestHeadCheck.moreThanOneHost)
        #expect(RequestHeadCheck.check(twice, hostUse: .informs) == RequestHeadCheck.moreThanOneHost)
        // Even the same value twice (HTTP/1.1); HTTP/2's :authority repeated as host may agree.
        #expect(RequestHeadCheck.check(Self.head(hosts: ["echo", "echo"]), hostUse: .informs) == RequestHeadCheck.moreThanOneHost)
        #expect(RequestHeadCheck.check(Self.head(version: HTTPVersion(major: 2, minor: 0), hosts: ["echo", "echo"]), hostUse: .routes) == nil)
        #expect(RequestHeadCheck.check(Self.head(version: HTTPVersion(major: 2, minor: 0), hosts: ["echo", "evil"]), hostUse: .routes) == RequestHeadCheck.moreThanOneHost)
        #expect(RequestHeadCheck.moreThanOneHost.reason == "more than one Host header\n")
    }

    @Test func invalidHostValuesAre400() {
        for host in ["a b", "user@echo", "echo/path", "echo:80x", "[::1", "[zz]:80", "echo:123456"] {
            #expect(RequestHeadCheck.check(Self.head(hosts: [host]), hostUse: .informs) == RequestHeadCheck.invalidHost, "\(host)")
        }
    }

    @Test func missingHost() {
        // HTTP/1.1 without Host: 400 everywhere.
        #expect(RequestHeadCheck.check(Self.head(hosts: []), hostUse: .informs) == RequestHeadCheck.missingHost)
        #expect(RequestHeadCheck.check(Self.head(hosts: []), hostUse: .routes) == RequestHeadCheck.missingRoutingHost)
        // HTTP/1.0 may omit it, except where the Host routes the request.
        #expect(RequestHeadCheck.check(Self.head(version: .http1_0, hosts: []), hostUse: .informs) == nil)
        #expect(RequestHeadCheck.check(Self.head(version: .http1_0, hosts: []), hostUse: .routes) == RequestHeadCheck.missingRoutingHost)
        #expect(RequestHeadCheck.check(Self.head(version: .http1_0, hosts: ["echo:8080"]), hostUse: .routes) == nil)
        // An empty Host is what RFC 9112 asks for when the target has no authority; it routes nowhere.
        #expect(RequestHeadCheck.check(Self.head(hosts: [""]), hostUse: .informs) == nil)
        #expect(RequestHeadCheck.check(Self.head(hosts: [""]), hostUse: .routes) == RequestHeadCheck.missingRoutingHost)
    }

    @Test func targetsThatNameTheAuthorityNeedNoHost() {
        #expect(RequestHeadCheck.check(Self.head("10.96.0.10:5432", method: .CONNECT, hosts: []), hostUse: .routes) == nil)
        #expect(RequestHeadCheck.check(Self.head("http://echo:8080/path", version: .http1_0, hosts: []), hostUse: .routes) == nil)
        #expect(RequestHeadCheck.check(Self.head("/path:with://colon", hosts: []), hostUse: .routes) == RequestHeadCheck.missingRoutingHost)
    }

    @Test func decoderErrorsSayWhat() {
        #expect(RequestHeadCheck.rejection(for: .headerOverflow) == .init(status: 431, reason: "request headers too large\n"))
        #expect(RequestHeadCheck.rejection(for: .invalidMethod) == .init(status: 400, reason: "malformed request: invalid method\n"))
        #expect(RequestHeadCheck.rejection(for: .invalidChunkSize).reason == "malformed request: invalid body framing\n")
        #expect(RequestHeadCheck.rejection(for: .unknown) == .init(status: 400, reason: "malformed request\n"))
    }
}
