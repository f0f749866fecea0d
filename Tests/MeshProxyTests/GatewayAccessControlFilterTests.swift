import MeshModel
import Testing
@testable import MeshProxy

/// AccessControlPolicy (F2-022): whitelist decides alone, XFF when enabled, the configured answer.
@Suite("Gateway access control filter")
struct GatewayAccessControlFilterTests {
    func filter(_ settings: GatewayAccessControl) throws -> HTTPFilter {
        .gatewayAccessControl(try GatewayAccessControlFilter(compiling: settings, "test"))
    }

    func request(from ip: String, xff: String? = nil) -> FilterRequest {
        var request = FilterRequest.get("/headers", headers: xff.map { [HTTPHeader(name: "X-Forwarded-For", value: $0)] } ?? [])
        request.sourceIP = ip
        return request
    }

    @Test func theGuidesWhitelistWithXFF() throws {
        var bench = FilterBench()
        let whitelist = try filter(GatewayAccessControl(blacklist: ["10.42.0.1"], whitelist: ["112.94.5.242"], enableXFF: true, statusCode: 403, message: "Forbidden"))
        var allowed = request(from: "10.42.0.1", xff: "112.94.5.242")
        #expect(bench.decode(whitelist, &allowed) == .proceed)
        var denied = request(from: "112.94.5.242", xff: "10.42.0.1, 112.94.5.242")
        guard case .localReply(let head, .accessDenied) = bench.decode(whitelist, &denied) else {
            Issue.record("the first XFF address is not whitelisted")
            return
        }
        #expect(head.status == 403 && head.body == "Forbidden" && head.header("content-length") == "9")
    }

    @Test func withoutXFFTheSourceAddressDecides() throws {
        var bench = FilterBench()
        let blacklist = try filter(GatewayAccessControl(blacklist: ["10.42.0.0/16"]))
        var inside = request(from: "10.42.3.4", xff: "1.2.3.4")
        #expect(bench.decode(blacklist, &inside) != .proceed)
        var outside = request(from: "10.43.0.1")
        #expect(bench.decode(blacklist, &outside) == .proceed)
    }

    @Test func aBadAddressRejectsTheConfig() {
        #expect(throws: ConfigRejection.self) { try GatewayAccessControlFilter(compiling: GatewayAccessControl(whitelist: ["10.0.0.300"]), "test") }
    }
}
