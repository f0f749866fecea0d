import MeshKube
import MeshModel
import Testing

/// The controller's gateway conditions as the status each Gateway API object gets.
struct GatewayStatusWriteTests {
    static let accepted = GatewayCondition(type: "Accepted", status: .true, reason: "Accepted")

    @Test func classesGatewaysWithTheirListenersAndRoutesPerParent() throws {
        let writes = GatewayStatusWrite.writes([
            GatewayStatus(object: "GatewayClass fsm-gateway-cls", conditions: [Self.accepted]),
            GatewayStatus(object: "Gateway httpbin/gw", conditions: [Self.accepted]),
            GatewayStatus(object: "Gateway httpbin/gw", scope: "listener http", conditions: [GatewayCondition(type: "Programmed", status: .true, reason: "Programmed")]),
            GatewayStatus(object: "HTTPRoute httpbin/route", scope: "parent httpbin/gw section http port 8000", conditions: [
                Self.accepted, GatewayCondition(type: "ResolvedRefs", status: .false, reason: "BackendNotFound", message: "Service httpbin/missing does not exist"),
            ]),
            GatewayStatus(object: "TCPRoute httpbin/tcp", scope: "parent httpbin/gw", conditions: [Self.accepted]),
            GatewayStatus(object: "RateLimitPolicy httpbin/limit", conditions: [Self.accepted]),
        ])
        #expect(writes.map { "\($0.type.kind) \($0.type.apiVersion) \($0.key)" } == [
            "GatewayClass gateway.networking.k8s.io/v1 fsm-gateway-cls", "Gateway gateway.networking.k8s.io/v1 httpbin/gw",
            "HTTPRoute gateway.networking.k8s.io/v1 httpbin/route", "TCPRoute gateway.networking.k8s.io/v1alpha2 httpbin/tcp",
        ])
        #expect(writes[0].status["conditions"]?.arrayItems?.first?["status"] == .string("True"))
        #expect(writes[1].status["listeners"]?.arrayItems?.first?["name"] == .string("http"))
        #expect(writes[1].status["listeners"]?.arrayItems?.first?["conditions"]?.arrayItems?.first?["type"] == .string("Programmed"))
        let parent = try #require(writes[2].status["parents"]?.arrayItems?.first)
        #expect(parent["controllerName"] == .string("flomesh.io/gateway-controller"))
        #expect(parent["parentRef"] == .object([
            ("group", .string("gateway.networking.k8s.io")), ("kind", .string("Gateway")), ("namespace", .string("httpbin")), ("name", .string("gw")),
            ("sectionName", .string("http")), ("port", .int(8000)),
        ]))
        let resolved = parent["conditions"]?.arrayItems?.last
        #expect(resolved?["reason"] == .string("BackendNotFound"))
        #expect(resolved?["message"] == .string("Service httpbin/missing does not exist"))
        #expect(writes[3].status["parents"]?.arrayItems?.first?["parentRef"]?["sectionName"] == nil)
    }

    @Test func stampingSetsEveryConditionsTransitionTimeAndNothingElse() {
        let write = GatewayStatusWrite.writes([GatewayStatus(object: "HTTPRoute a/r", scope: "parent a/gw", conditions: [Self.accepted])])[0]
        let stamped = write.stamped("2026-12-06T20:00:00Z")
        let parent = stamped["parents"]?.arrayItems?.first
        #expect(parent?["conditions"]?.arrayItems?.first?["lastTransitionTime"] == .string("2026-12-06T20:00:00Z"))
        #expect(parent?["parentRef"]?["lastTransitionTime"] == nil)
        #expect(write.status["parents"]?.arrayItems?.first?["conditions"]?.arrayItems?.first?["lastTransitionTime"] == nil)
    }
}
