import MeshModel
import Testing
@testable import MeshProxy

@Suite("Access control filter")
struct AccessControlFilterTests {
    static let filter = HTTPFilter.accessControl(AccessControlFilter())

    static func routed(peer: String?) -> FilterRequest {
        var request = FilterRequest.get("/books-bought", host: "bookstore.bookstore:14001")
        request.peerIdentity = peer
        request.route = SelectedRoute(service: 0, rule: 0)
        return request
    }

    @Test func onlyTheRulesIdentitiesPass() {
        var bench = FilterBench(inboundOf: InboundTests.config())
        var buyer = AccessControlFilterTests.routed(peer: InboundTests.buyer)
        #expect(bench.decode(AccessControlFilterTests.filter, &buyer) == .proceed)
        var thief = AccessControlFilterTests.routed(peer: InboundTests.thief)
        #expect(bench.decode(AccessControlFilterTests.filter, &thief) == .localReply(HTTPResponseHead(status: 403), .accessDenied))
        var outsider = AccessControlFilterTests.routed(peer: nil)
        #expect(bench.decode(AccessControlFilterTests.filter, &outsider) == .localReply(HTTPResponseHead(status: 403), .accessDenied))
        #expect(bench.count(CounterTable.inboundAccessDenied) == 2)
    }

    @Test func aRuleWithoutIdentitiesAdmitsEveryone() {
        var bench = FilterBench(inboundOf: InboundTests.config(allowed: nil))
        var outsider = AccessControlFilterTests.routed(peer: nil)
        #expect(bench.decode(AccessControlFilterTests.filter, &outsider) == .proceed)
        #expect(bench.count(CounterTable.inboundAccessDenied) == 0)
    }
}
