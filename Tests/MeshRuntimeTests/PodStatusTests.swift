import Foundation
import MeshControlPlane
import MeshModel
import MeshRuntime
import MeshTesting
import NIOCore
import NIOHTTP1
import Testing

/// `PUT /v1/pods/<ns>/<pod>/status` (the kubelet's role reports readiness): a not-ready pod leaves
/// its services' endpoints in the clients' configs, held long polls wake up, a manifest re-read
/// keeps the status, and bad reports get a one-line 400. Addresses: a ControlledMesh test address block each.
@Suite(.timeLimit(.minutes(1)))
struct PodStatusTests {
    static func report(_ mesh: ControlledMesh, _ pod: String, _ body: String) async throws -> MeshHTTPResponse {
        try await MeshHTTP.request(host: mesh.controllerHost, port: 6060, method: .PUT, path: "/v1/pods/demo/\(pod)/status",
                                           headers: [("content-type", "application/json")] + (try mesh.authorization(for: "/v1/pods")), body: body)
    }

    static func echoEndpoints(_ mesh: ControlledMesh) async throws -> [String] {
        let config = try ProxyConfig(jsonText: try await mesh.api("/v1/configs/demo/client-0").body)
        return config.cluster("demo/echo|8080")?.endpoints.map(\.address) ?? []
    }

    @Test func aReportedNotReadyPodLeavesTheEndpointsUntilItIsReadyAgain() async throws {
        try await ControlledMesh.run(files: ControllerServerTests.smiFiles, sidecars: false) { mesh in
            let echoIP = try await mesh.podIP("echo-0")
            #expect(try await Self.echoEndpoints(mesh) == ["\(echoIP):8080"])
            let before = try await mesh.api("/v1/configs/demo/client-0")
            let version = try #require(before.header(ControllerServer.versionHeader))
            let heldPath = "/v1/configs/demo/client-0?version=\(version)&wait=20s"
            async let held = MeshHTTP.request(host: mesh.controllerHost, port: 6060, path: heldPath, headers: try mesh.authorization(for: heldPath),
                                                      timeout: .seconds(25))
            try await Task.sleep(for: .milliseconds(300))

            let answer = try await Self.report(mesh, "echo-0", #"{"ready": false}"#)
            #expect(answer.status == 200)
            #expect(try JSONValue(parsing: answer.body)["ready"] == .bool(false))
            // The client's long poll wakes with the config without the endpoint.
            let woken = try await held
            #expect(woken.status == 200)
            #expect(try ProxyConfig(jsonText: woken.body).cluster("demo/echo|8080")?.endpoints.isEmpty == true)
            #expect(try JSONValue(parsing: try await mesh.api("/v1/pods/demo/echo-0").body)["ready"] == .bool(false))

            // A manifest re-read (a new file) keeps the reported status.
            try mesh.write("40-extra.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra, namespace: demo}\n")
            try await mesh.controller?.rescanNow()
            #expect(try await Self.echoEndpoints(mesh).isEmpty)
            // The same report again changes nothing; ready brings the endpoint back.
            #expect(try await Self.report(mesh, "echo-0", #"{"ready": false}"#).status == 200)
            #expect(try await Self.report(mesh, "echo-0", #"{"ready":true}"#).status == 200)
            #expect(try await Self.echoEndpoints(mesh) == ["\(echoIP):8080"])
        }
    }

    @Test func badReportsGetAOneLine400AndUnknownPodsA404() async throws {
        try await ControlledMesh.run(files: ControllerServerTests.smiFiles, sidecars: false) { mesh in
            let cases: [(String, String)] = [
                ("nonsense", "body: invalid JSON at byte 1: invalid literal; expected {\"ready\": true|false}\n"),
                (#"{"ready": "no"}"#, "body.ready: expected true or false\n"),
                (#"{"ready": true, "phase": "Running"}"#, "body.phase: unknown field; expected only \"ready\"\n"),
                ("[true]", "body: expected a JSON object {\"ready\": true|false}\n"),
            ]
            for (body, message) in cases {
                let answer = try await Self.report(mesh, "echo-0", body)
                #expect(answer.status == 400, "\(body)")
                #expect(answer.body.hasPrefix(message), "\(body): \(answer.body)")
                #expect(answer.body.split(separator: "\n").count == 1)
            }
            let unknown = try await Self.report(mesh, "nobody-0", #"{"ready": false}"#)
            #expect(unknown.status == 404)
            #expect(unknown.body == "no pod demo/nobody-0 whose status this controller keeps\n")
            #expect(try await mesh.api("/v1/pods/demo/echo-0/status").status == 405)
            // Readiness reports take the operator credential: none is 401, a pod's own is 403.
            let anonymous = try await MeshHTTP.request(host: mesh.controllerHost, port: 6060, method: .PUT, path: "/v1/pods/demo/echo-0/status",
                                                               headers: [("content-type", "application/json")], body: #"{"ready": false}"#)
            #expect(anonymous.status == 401)
            let byPod = try await MeshHTTP.request(host: mesh.controllerHost, port: 6060, method: .PUT, path: "/v1/pods/demo/echo-0/status",
                                                           headers: try mesh.authorization(for: "/v1/configs/demo/echo-0"), body: #"{"ready": false}"#)
            #expect(byPod.status == 403)
            // Nothing changed.
            #expect(try await Self.echoEndpoints(mesh).count == 1)
        }
    }
}
