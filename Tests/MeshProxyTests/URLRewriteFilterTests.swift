import Testing
@testable import MeshProxy

/// The guide's F2-012: URL rewrite of the path (full and prefix) and of the hostname.
@Suite("URL rewrite filter")
struct URLRewriteFilterTests {
    @Test func replaceFullPathKeepsTheQueryAndHost() {
        var bench = FilterBench()
        var request = FilterRequest.get("/get?show=1")
        #expect(bench.decode(.urlRewrite(URLRewriteFilter(path: .replaceFullPath("/headers"))), &request) == .proceed)
        #expect(request.head.path == "/headers?show=1")
        #expect(request.head.authority == "foo.example.com")
        #expect(request.headModified)
    }

    @Test func replacePrefixMatchUsesThePrefixTheRouteMatched() {
        var bench = FilterBench()
        var request = FilterRequest.get("/status/204")
        request.matchedPrefix = "/status"
        #expect(bench.decode(.urlRewrite(URLRewriteFilter(path: .replacePrefixMatch("/stream"))), &request) == .proceed)
        #expect(request.head.path == "/stream/204")
    }

    @Test func hostnameRewriteReplacesTheWholeHost() {
        var bench = FilterBench()
        var request = FilterRequest.get("/get", host: "foo.example.com:8000")
        #expect(bench.decode(.urlRewrite(URLRewriteFilter(hostname: "baz.example.com")), &request) == .proceed)
        #expect(request.head.authority == "baz.example.com")
        #expect(request.head.path == "/get")
    }

    @Test func aRewriteToTheSameURLIsNotAModification() {
        var bench = FilterBench()
        var request = FilterRequest.get("/headers")
        #expect(bench.decode(.urlRewrite(URLRewriteFilter(hostname: "foo.example.com", path: .replaceFullPath("/headers"))), &request) == .proceed)
        #expect(!request.headModified)
    }
}
