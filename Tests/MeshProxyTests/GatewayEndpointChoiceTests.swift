import MeshModel
import Testing
@testable import MeshProxy

/// LoadBalancerPolicy and SessionStickyPolicy choices (F2-025, F2-027).
@Suite("Gateway endpoint choice")
struct GatewayEndpointChoiceTests {
    @Test func hashingKeepsOneClientOnOneEndpoint() {
        let first = GatewayEndpointChoice.hashed(client: "10.0.0.7", endpointCount: 2)
        for _ in 0..<5 { #expect(GatewayEndpointChoice.hashed(client: "10.0.0.7", endpointCount: 2) == first) }
        let spread = Set((0..<32).map { GatewayEndpointChoice.hashed(client: "10.0.0.\($0)", endpointCount: 2) })
        #expect(spread == [0, 1], "different clients use both endpoints")
    }

    @Test func leastLoadedPicksTheIdlestAndTiesGoRound() {
        #expect(GatewayEndpointChoice.leastLoaded(inFlight: [3, 1, 2], turn: 0) == 1)
        #expect(GatewayEndpointChoice.leastLoaded(inFlight: [0, 0], turn: 0) == 0)
        #expect(GatewayEndpointChoice.leastLoaded(inFlight: [0, 0], turn: 1) == 1)
        #expect(GatewayEndpointChoice.leastLoaded(inFlight: [], turn: 0) == nil)
    }

    @Test func theCookieNamesItsEndpointByToken() {
        let endpoint = SocketAddress(ip: "10.1.0.5", port: 8080)
        let token = GatewayEndpointChoice.stickyToken(endpoint)
        #expect(token.count == 16 && token != GatewayEndpointChoice.stickyToken(SocketAddress(ip: "10.1.0.6", port: 8080)))
        let head = HTTPRequestHead(authority: "x", headers: [HTTPHeader(name: "Cookie", value: "a=1; _srv_id=\(token)")])
        #expect(GatewayEndpointChoice.cookie("_srv_id", in: head) == Substring(token))
        #expect(GatewayEndpointChoice.cookie("other", in: head) == nil)
        #expect(GatewayEndpointChoice.setCookie(GatewaySessionSticky(cookieName: "_srv_id", expires: 600), token: token).value == "_srv_id=\(token); path=/; max-age=600")
    }
}
