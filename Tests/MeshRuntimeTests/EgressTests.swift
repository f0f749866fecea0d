import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import Testing

/// Egress passthrough on real sockets (a test address block each; issue 13 item 2): with `enableEgress` a request
/// to an address no traffic match claims goes, as is and in plain, to that address; without it the
/// sidecar has no route for it.
@Suite(.timeLimit(.minutes(1)))
struct EgressTests {
    /// A host outside the mesh, .9 of the test's block: an echo server no traffic match names.
    static let outsideHost = 9
    static let outsidePort = 8099

    static func client(egress: Bool, block: LoopbackBlockLease) -> ProxyConfig {
        var config = MeshPair.clientConfig(serverIP: block.address(2))
        config.spec.enableEgress = egress
        return config
    }

    @Test func enabledEgressPassesAnUnmatchedAddressThrough() async throws {
        let block = try TestAddressBlock.lease()
        let outside = EchoApp()
        try await outside.start(host: block.address(Self.outsideHost), port: Self.outsidePort)
        do {
            try await Self.passesThrough(outside, block: block)
        } catch {
            await outside.stop()
            throw error
        }
        await outside.stop()
    }

    private static func passesThrough(_ outside: EchoApp, block: LoopbackBlockLease) async throws {
        let outsideIP = block.address(Self.outsideHost)
        try await MeshPair.run(block: block, client: Self.client(egress: true, block: block)) { mesh in
            let answer = try await mesh.get("/outside", host: "\(outsideIP):\(Self.outsidePort)")
            #expect(answer.status == 200)
            #expect(answer.body == "GET /outside ")
            // As the app sent it: none of the mesh's own headers.
            let seen = try #require(outside.seenHeaders.last)
            #expect(!seen.keys.contains { $0.hasPrefix("x-fsm-") })
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["outbound.egress_passthrough"] == 1)
            #expect(stats["cluster.egress|\(outsideIP):\(Self.outsidePort).upstream_rq_2xx"] == 1)
            // In-mesh traffic is unchanged.
            #expect(try await mesh.get("/inside").status == 200)
        }
    }

    @Test func disabledEgressHasNoRouteOutside() async throws {
        let block = try TestAddressBlock.lease()
        let outsideIP = block.address(Self.outsideHost)
        let outside = EchoApp()
        try await outside.start(host: outsideIP, port: Self.outsidePort + 1)
        var status: Int?
        var noRoute: UInt64?
        do {
            try await MeshPair.run(block: block, client: Self.client(egress: false, block: block)) { mesh in
                status = (try? await mesh.get("/outside", host: "\(outsideIP):\(Self.outsidePort + 1)"))?.status
                noRoute = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["outbound.no_route"]
            }
        } catch {
            await outside.stop()
            throw error
        }
        await outside.stop()
        #expect(status != 200)
        #expect(outside.seenHeaders.isEmpty)
        #expect(noRoute == 1)
    }
}

/// The Egress policy API and names outside the mesh on real sockets (a test address block each; DECISIONS
/// 170-173): local mode resolves a name through `SidecarSettings.hosts`, and with passthrough off
/// only what an Egress rule allows leaves, with FSM's 403 for a route no rule allows.
@Suite(.timeLimit(.minutes(1)))
struct EgressPolicyRuntimeTests {
    @Test func aListedNamePassesThroughWithEgressOn() async throws {
        let block = try TestAddressBlock.lease()
        let outsideIP = block.address(EgressTests.outsideHost)
        let outside = EchoApp()
        try await outside.start(host: outsideIP, port: 8101)
        var status: Int?
        do {
            try await MeshPair.run(block: block, client: EgressTests.client(egress: true, block: block),
                                   tuneClient: { $0.hosts = ["httpbin.test": outsideIP] }) { mesh in
                status = try await mesh.get("/outside", host: "httpbin.test:8101").status
            }
        } catch {
            await outside.stop()
            throw error
        }
        await outside.stop()
        #expect(status == 200)
    }

    @Test func anEgressRuleAllowsItsRouteAndAnswersOthers403() async throws {
        let block = try TestAddressBlock.lease()
        let outsideIP = block.address(EgressTests.outsideHost)
        let outside = EchoApp()
        try await outside.start(host: outsideIP, port: 8102)
        var config = EgressTests.client(egress: false, block: block)
        config.spec.egressPolicy = EgressPolicySpec(rules: [
            EgressRule(policy: "curl/httpbin", port: 8102, protocol: .http, hosts: ["httpbin.test"], routes: [EgressRoute(pathRegex: "/get")]),
        ])
        var answers: [(status: Int, body: String)] = []
        do {
            try await MeshPair.run(block: block, client: config,
                                   tuneClient: { $0.hosts = ["httpbin.test": outsideIP] }) { mesh in
                for path in ["/get", "/status/200"] {
                    let answer = try await mesh.get(path, host: "httpbin.test:8102")
                    answers.append((answer.status, answer.body))
                }
            }
        } catch {
            await outside.stop()
            throw error
        }
        await outside.stop()
        #expect(answers.map(\.status) == [200, 403])
        #expect(answers.last?.body == "Access denied")
    }
}
