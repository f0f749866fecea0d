import MeshModel
import Testing
@testable import MeshProxy

/// HTTPRoute and GRPCRoute matches as the gateway applies them.
@Suite("Gateway request match")
struct GatewayRequestMatchTests {
    func match(_ match: GatewayHTTPRouteMatch) throws -> GatewayRequestMatch { try GatewayRequestMatch(compiling: match, "test") }
    func head(_ path: String, method: String = "GET", headers: [HTTPHeader] = []) -> HTTPRequestHead {
        HTTPRequestHead(method: method, path: path, authority: "foo.example.com", headers: headers)
    }

    @Test func pathPrefixMatchesWholeElementsOnly() throws {
        let prefix = try match(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .pathPrefix, value: "/get")))
        #expect(prefix.matches(head("/get")))
        #expect(prefix.matches(head("/get/1?x=2")))
        #expect(!prefix.matches(head("/getx")))
        #expect(prefix.matchedPrefix == "/get")
        let slash = try match(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .pathPrefix, value: "/status/")))
        #expect(slash.matches(head("/status/204")) && slash.matches(head("/status")))
        let root = try match(GatewayHTTPRouteMatch())
        #expect(root.matches(head("/anything")) && root.matchedPrefix == "/")
    }

    @Test func exactAndRegexPathsMatchTheWholePathWithoutQuery() throws {
        let exact = try match(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .exact, value: "/headers")))
        #expect(exact.matches(head("/headers?a=1")) && !exact.matches(head("/headers/")))
        let regex = try match(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .regularExpression, value: "/status/[0-9]+")))
        #expect(regex.matches(head("/status/204")) && !regex.matches(head("/status/x")))
        #expect(throws: ConfigRejection.self) { try match(GatewayHTTPRouteMatch(path: GatewayPathMatch(type: .regularExpression, value: "/(["))) }
    }

    @Test func headersQueryAndMethodMustAllHold() throws {
        let all = try match(GatewayHTTPRouteMatch(headers: [GatewayValueMatch(name: "X-Canary", value: "yes")],
                                                  queryParams: [GatewayValueMatch(type: .regularExpression, name: "id", value: "[0-9]+")], method: "POST"))
        let canary = [HTTPHeader(name: "x-canary", value: "yes")]
        #expect(all.matches(head("/?id=12", method: "POST", headers: canary)))
        #expect(!all.matches(head("/?id=12", method: "GET", headers: canary)))
        #expect(!all.matches(head("/?id=ab", method: "POST", headers: canary)))
        #expect(!all.matches(head("/?id=12", method: "POST")))
    }

    @Test func grpcMatchesServiceAndMethodOfThePath() throws {
        let grpc = try GatewayRequestMatch(compiling: GatewayGRPCRouteMatch(service: "hello.HelloService", method: "SayHello"), "test")
        #expect(grpc.matches(head("/hello.HelloService/SayHello", method: "POST")))
        #expect(!grpc.matches(head("/hello.HelloService/LotsOfReplies", method: "POST")))
        let anyMethod = try GatewayRequestMatch(compiling: GatewayGRPCRouteMatch(service: "hello.HelloService"), "test")
        #expect(anyMethod.matches(head("/hello.HelloService/LotsOfReplies", method: "POST")))
    }

    @Test func hostPatternsCompareWithoutPortAndCase() {
        #expect(GatewayHostPattern("foo.example.com").matches(host: GatewayHostPattern.hostName("Foo.Example.com:8000")))
        #expect(GatewayHostPattern("*.example.com").matches(host: "a.b.example.com"))
        #expect(!GatewayHostPattern("*.example.com").matches(host: "example.com"))
        #expect(GatewayHostPattern("*").matches(host: "10.0.0.1"))
        #expect(GatewayHostPattern.hostName("[::1]") == "[::1]")
    }
}
