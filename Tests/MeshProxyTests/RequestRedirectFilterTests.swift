import MeshModel
import Testing
@testable import MeshProxy

/// The guide's F2-013 redirects, and the Gateway API's rules for the Location's parts.
@Suite("Request redirect filter")
struct RequestRedirectFilterTests {
    static func reply(_ filter: RequestRedirectFilter, _ path: String, host: String = "foo.example.com:8000", listenerPort: Int = 8000, prefix: String? = nil) -> FilterOutcome {
        var bench = FilterBench(port: listenerPort)
        var request = FilterRequest.get(path, host: host, port: listenerPort)
        request.matchedPrefix = prefix
        return bench.decode(.requestRedirect(filter), &request)
    }

    static func redirect(_ status: Int, _ location: String) -> FilterOutcome {
        .localReply(HTTPResponseHead(status: status, headers: [HTTPHeader(name: "Location", value: location)]), .redirect)
    }

    @Test func hostnameAndPortRedirect() {
        #expect(RequestRedirectFilterTests.reply(RequestRedirectFilter(hostname: "bar.example.com", port: 8000, statusCode: 301), "/get")
            == RequestRedirectFilterTests.redirect(301, "http://bar.example.com:8000/get"))
    }

    @Test func prefixRedirectKeepsSchemeHostAndListenerPort() {
        #expect(RequestRedirectFilterTests.reply(RequestRedirectFilter(path: .replacePrefixMatch("/stream"), statusCode: 301), "/status/204", prefix: "/status")
            == RequestRedirectFilterTests.redirect(301, "http://foo.example.com:8000/stream/204"))
    }

    @Test func fullPathRedirectDefaultsTo302AndKeepsTheQuery() {
        #expect(RequestRedirectFilterTests.reply(RequestRedirectFilter(path: .replaceFullPath("/status/200")), "/status/204?x=1")
            == RequestRedirectFilterTests.redirect(302, "http://foo.example.com:8000/status/200?x=1"))
    }

    @Test func aSchemeWithoutAPortUsesTheSchemesPortAndLeavesItOut() {
        #expect(RequestRedirectFilterTests.reply(RequestRedirectFilter(scheme: "https"), "/login")
            == RequestRedirectFilterTests.redirect(302, "https://foo.example.com/login"))
        #expect(RequestRedirectFilterTests.reply(RequestRedirectFilter(scheme: "https", port: 8443), "/login")
            == RequestRedirectFilterTests.redirect(302, "https://foo.example.com:8443/login"))
    }

    @Test func theListenersOwnWellKnownPortIsLeftOut() {
        #expect(RequestRedirectFilterTests.reply(RequestRedirectFilter(hostname: "bar.example.com"), "/", host: "foo.example.com", listenerPort: 80)
            == RequestRedirectFilterTests.redirect(302, "http://bar.example.com/"))
    }

    @Test func hostWithoutPortHandlesIPv6() {
        #expect(RequestRedirectFilter.hostWithoutPort("[fd00::1]:8000") == "[fd00::1]")
        #expect(RequestRedirectFilter.hostWithoutPort("[fd00::1]") == "[fd00::1]")
        #expect(RequestRedirectFilter.hostWithoutPort("foo.example.com") == "foo.example.com")
    }
}
