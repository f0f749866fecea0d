import MeshControl
import MeshModel
import Testing

/// HTTPRoute rule precedence (Gateway API `HTTPRouteRule` docs): Exact before PathPrefix, a longer
/// prefix first, then method, then header count, then query-parameter count; ties by route age,
/// then route name, then rule order.
@Suite struct GatewayRulePrecedenceTests {
    typealias Key = GatewayRulePrecedence.Key

    static func key(_ type: GatewayPathMatchType = .pathPrefix, _ path: String = "/", method: String? = nil, headers: Int = 0, query: Int = 0,
                    age: Int = 0, name: String = "ns/r", rule: Int = 0) -> Key {
        let match = GatewayHTTPRouteMatch(path: GatewayPathMatch(type: type, value: path),
                                          headers: (0..<headers).map { GatewayValueMatch(name: "h\($0)", value: "v") },
                                          queryParams: (0..<query).map { GatewayValueMatch(name: "q\($0)", value: "v") }, method: method)
        return Key(match: match, routeAge: age, routeName: name, ruleIndex: rule)
    }

    @Test func specificityOrder() {
        let ordered = [
            Self.key(.exact, "/a"),
            Self.key(.pathPrefix, "/a/b"),
            Self.key(.pathPrefix, "/a", method: "GET"),
            Self.key(.pathPrefix, "/a", headers: 2),
            Self.key(.pathPrefix, "/a", headers: 1, query: 1),
            Self.key(.pathPrefix, "/a", headers: 1),
            Self.key(.pathPrefix, "/a", query: 1),
            Self.key(.pathPrefix, "/a"),
            Self.key(.pathPrefix, "/"),
            Self.key(.regularExpression, "/a.*"),
        ]
        for (index, key) in ordered.enumerated() {
            for later in ordered[(index + 1)...] {
                #expect(GatewayRulePrecedence.precedes(key, later))
                #expect(!GatewayRulePrecedence.precedes(later, key))
            }
        }
    }

    @Test func tiesGoToTheOlderRouteThenTheNameThenTheRuleOrder() {
        #expect(GatewayRulePrecedence.precedes(Self.key(age: 1, name: "ns/z"), Self.key(age: 2, name: "ns/a")))
        #expect(GatewayRulePrecedence.precedes(Self.key(age: 1, name: "ns/a"), Self.key(age: 1, name: "ns/b")))
        #expect(GatewayRulePrecedence.precedes(Self.key(rule: 0), Self.key(rule: 1)))
    }

    @Test func grpcMethodMatches() {
        func grpc(_ type: GatewayValueMatchType = .exact, service: String?, method: String?) -> Key {
            Key(grpcMatch: GatewayGRPCRouteMatch(type: type, service: service, method: method))
        }
        let ordered = [grpc(service: "hello.HelloService", method: "SayHello"), grpc(service: "hello.HelloService", method: nil),
                       grpc(service: nil, method: "SayHello"), grpc(.regularExpression, service: "hello.*", method: "Say.*")]
        for (index, key) in ordered.enumerated() {
            for later in ordered[(index + 1)...] { #expect(GatewayRulePrecedence.precedes(key, later)) }
        }
    }
}
