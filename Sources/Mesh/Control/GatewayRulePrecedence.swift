import MeshModel

/// The order of the rules of one virtual host, as the Gateway API specifies HTTPRoute precedence:
/// an Exact path before a PathPrefix one, a longer path before a shorter; then a method match;
/// then more header matches; then more query parameter matches; ties go to the older route, then
/// the route's `namespace/name`, then the rule's and the match's order in the route. A
/// RegularExpression path (implementation-specific in the spec) ranks after every prefix.
/// GRPCRoute matches: an Exact method before a RegularExpression one, service and method before
/// either alone, then more header matches.
public enum GatewayRulePrecedence {
    /// What a rule is ranked by.
    public struct Key: Sendable {
        public var match: GatewayHTTPRouteMatch?
        public var grpcMatch: GatewayGRPCRouteMatch?
        /// Position of the route in creation order (smaller: older).
        public var routeAge: Int
        /// `namespace/name` of the route.
        public var routeName: String
        public var ruleIndex: Int
        public var matchIndex: Int

        public init(match: GatewayHTTPRouteMatch? = nil, grpcMatch: GatewayGRPCRouteMatch? = nil, routeAge: Int = 0, routeName: String = "", ruleIndex: Int = 0, matchIndex: Int = 0) {
            self.match = match
            self.grpcMatch = grpcMatch
            self.routeAge = routeAge
            self.routeName = routeName
            self.ruleIndex = ruleIndex
            self.matchIndex = matchIndex
        }
    }

    /// Whether `a` is tried before `b`.
    public static func precedes(_ a: Key, _ b: Key) -> Bool {
        let specificity = compare(a, b)
        if specificity != 0 { return specificity > 0 }
        return (a.routeAge, a.routeName, a.ruleIndex, a.matchIndex) < (b.routeAge, b.routeName, b.ruleIndex, b.matchIndex)
    }

    /// Positive when `a` is more specific than `b`, negative when less, 0 when as specific.
    public static func compare(_ a: Key, _ b: Key) -> Int {
        switch (a.grpcMatch, b.grpcMatch) {
        case (let x?, let y?): return lexicographic(grpcScore(x), grpcScore(y))
        case (_?, nil): return 1
        case (nil, _?): return -1
        case (nil, nil): return lexicographic(httpScore(a.match ?? GatewayHTTPRouteMatch()), httpScore(b.match ?? GatewayHTTPRouteMatch()))
        }
    }

    private static func httpScore(_ match: GatewayHTTPRouteMatch) -> [Int] {
        let pathType: Int = switch match.path.type {
        case .exact: 2
        case .pathPrefix: 1
        case .regularExpression: 0
        }
        return [pathType, match.path.value.count, match.method == nil ? 0 : 1, match.headers.count, match.queryParams.count]
    }

    private static func grpcScore(_ match: GatewayGRPCRouteMatch) -> [Int] {
        let exact = match.type == .exact ? 1 : 0
        let parts = (match.service == nil ? 0 : 1) + (match.method == nil ? 0 : 1)
        return [exact, parts, match.service == nil ? 0 : 1, match.headers.count]
    }

    private static func lexicographic(_ a: [Int], _ b: [Int]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x > y ? 1 : -1 }
        return 0
    }
}
