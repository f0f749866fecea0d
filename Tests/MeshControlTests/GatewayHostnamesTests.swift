import MeshControl
import MeshModel
import Testing

/// Hostname intersection and matching as the Gateway API spec's examples state them
/// (`ListenerHostname` and `HTTPRoute.spec.hostnames` docs).
@Suite struct GatewayHostnamesTests {
    @Test(arguments: [
        // listener, route hostnames, effective hostnames (nil: not accepted)
        (nil, [], ["*"]),
        (nil, ["foo.example.com"], ["foo.example.com"]),
        ("foo.example.com", [], ["foo.example.com"]),
        ("foo.example.com", ["foo.example.com", "bar.example.com"], ["foo.example.com"]),
        ("*.example.com", ["foo.example.com", "a.b.example.com", "example.com", "foo.other.com"], ["foo.example.com", "a.b.example.com"]),
        ("*.example.com", ["*.foo.example.com"], ["*.foo.example.com"]),
        ("foo.example.com", ["*.example.com"], ["foo.example.com"]),
        ("*.foo.example.com", ["*.example.com"], ["*.foo.example.com"]),
        ("foo.example.com", ["bar.example.com"], nil),
        ("*.example.com", ["example.com"], nil),
    ] as [(String?, [String], [String]?)])
    func intersection(listener: String?, route: [String], expected: [String]?) {
        #expect(GatewayHostnames.intersect(listener: listener, route: route) == expected)
    }

    @Test func aWildcardMatchesOneOrMoreLabelsButNotTheSuffixItself() {
        #expect(GatewayHostnames.matches(pattern: "*.example.com", host: "foo.example.com"))
        #expect(GatewayHostnames.matches(pattern: "*.example.com", host: "FOO.bar.example.com"))
        #expect(!GatewayHostnames.matches(pattern: "*.example.com", host: "example.com"))
        #expect(!GatewayHostnames.matches(pattern: "*.example.com", host: "fooexample.com"))
        #expect(GatewayHostnames.matches(pattern: "*", host: "anything"))
    }

    @Test func theRequestHostDropsThePort() {
        #expect(GatewayHostnames.requestHost("Foo.Example.com:8000") == "foo.example.com")
        #expect(GatewayHostnames.requestHost("[::1]:80") == "[::1]:80")
    }

    @Test func virtualHostsGoFromExactToWildcardsByLengthToAny() {
        let sorted = ["*", "*.example.com", "b.example.com", "*.foo.example.com", "a.example.com"].sorted(by: GatewayHostnames.precedes)
        #expect(sorted == ["a.example.com", "b.example.com", "*.foo.example.com", "*.example.com", "*"])
    }
}
