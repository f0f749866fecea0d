import Logging
import MeshModel
import MeshProxy
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import Testing

/// The NIO shell carries out the engine's deadlines and decides none: a sidecar driver on an
/// EmbeddedEventLoop, its listener's pipeline on an EmbeddedChannel, upstream connections in
/// memory; virtual time decides when the engine's timers fire.
@Suite struct EngineDeadlineTests {
    static let clientIP = "127.88.1.1"
    static let serverIP = "127.88.1.2"
    static let cluster = "default/echo|8080"

    /// One sidecar with an outbound listener connection from its app, and the upstream
    /// connections it opens (never answered unless a test says: the far end is silent).
    final class Rig {
        let sidecar: EmbeddedSidecar
        var driver: SidecarDriver { sidecar.driver }
        var upstreams: [EmbeddedChannel] { sidecar.upstreams }
        var connectsHang: Bool {
            get { sidecar.connectsHang }
            set { sidecar.connectsHang = newValue }
        }
        var connectsFail: Bool {
            get { sidecar.connectsFail }
            set { sidecar.connectsFail = newValue }
        }

        init(config: ProxyConfig, podIP: String = EngineDeadlineTests.clientIP, listener: ListenerKind = .outbound) throws {
            sidecar = try EmbeddedSidecar(config: config, podIP: podIP, clientIP: EngineDeadlineTests.clientIP, listener: listener)
        }

        func send(_ request: String) throws { try sidecar.send(request) }
        func answer() -> String { sidecar.answer() }
        func advance(_ amount: TimeAmount) { sidecar.advance(amount) }
        func stat(_ name: String) -> UInt64? { sidecar.stat(name) }
        func close() { sidecar.close() }
    }

    /// Set from a callback on the (embedded, single) loop.
    final class Flag: @unchecked Sendable {
        var value = false
    }

    static func config(_ settings: (inout ConnectionSettings) -> Void) -> ProxyConfig {
        var config = MeshPair.clientConfig(serverIP: serverIP)
        var connection = ConnectionSettings()
        settings(&connection)
        config.outbound.clustersConfigs[0].connectionSettings = connection
        return config
    }

    static let request = "GET /slow HTTP/1.1\r\nHost: echo:8080\r\n\r\n"

    @Test func theEnginesRouteTimeoutAnswers504AndClosesTheUpstream() throws {
        let rig = try Rig(config: Self.config { $0.http.requestTimeout = .seconds(2) })
        defer { rig.close() }
        try rig.send(Self.request)
        #expect(rig.upstreams.count == 1)
        rig.advance(.milliseconds(1999))
        #expect(rig.answer().isEmpty)
        rig.advance(.milliseconds(1))
        #expect(rig.answer().hasPrefix("HTTP/1.1 504"))
        #expect(rig.stat("cluster.\(Self.cluster).upstream_rq_timeout") == 1)
        // The abandoned attempt's connection is closed; nothing is left in flight.
        #expect(rig.upstreams.allSatisfy { !$0.isActive })
        #expect(rig.driver.occupancy.exchanges == 0)
        #expect(rig.driver.occupancy.engine.exchanges == 0)
    }

    @Test func withoutAConfiguredValueTheRouteTimeoutIsSixtySeconds() throws {
        let rig = try Rig(config: MeshPair.clientConfig(serverIP: Self.serverIP))
        defer { rig.close() }
        try rig.send(Self.request)
        rig.advance(.seconds(59))
        #expect(rig.answer().isEmpty)
        rig.advance(.seconds(1))
        #expect(rig.answer().hasPrefix("HTTP/1.1 504"))
    }

    @Test func theEnginesConnectTimeoutAbandonsTheConnectAndAnswers503() throws {
        let rig = try Rig(config: Self.config { $0.tcp.connectTimeout = .milliseconds(1500) })
        defer { rig.close() }
        rig.connectsHang = true
        try rig.send(Self.request)
        let opening = try #require(rig.upstreams.first)
        let closed = Flag()
        opening.closeFuture.whenComplete { _ in closed.value = true }
        rig.advance(.milliseconds(1499))
        #expect(rig.answer().isEmpty)
        rig.advance(.milliseconds(1))
        #expect(rig.answer().hasPrefix("HTTP/1.1 503"))
        #expect(closed.value)
        #expect(rig.stat("cluster.\(Self.cluster).upstream_cx_connect_timeout") == 1)
        // The shell's own connect failure counter stays for failures the network reports.
        #expect(rig.stat("runtime.upstream_cx_connect_fail") == 0)
        #expect(rig.driver.occupancy.upstreams == 0)
    }

    @Test func anOpenConnectionCancelsTheConnectTimer() throws {
        let rig = try Rig(config: Self.config { $0.tcp.connectTimeout = .seconds(1); $0.http.requestTimeout = .seconds(3) })
        defer { rig.close() }
        try rig.send(Self.request)
        // Connected at once: only the route timeout ends this silent request.
        rig.advance(.seconds(2))
        #expect(rig.answer().isEmpty)
        #expect(rig.stat("cluster.\(Self.cluster).upstream_cx_connect_timeout") == 0)
        rig.advance(.seconds(1))
        #expect(rig.answer().hasPrefix("HTTP/1.1 504"))
    }

    /// The peer's request finds no app behind the server's sidecar: the engine's answer, 503.
    @Test func anUnreachableAppGetsTheEnginesAnswer() throws {
        let rig = try Rig(config: MeshPair.serverConfig(serverIP: Self.serverIP), podIP: Self.serverIP, listener: .inbound)
        defer { rig.close() }
        rig.connectsFail = true
        try rig.send("GET /x HTTP/1.1\r\nHost: echo:8080\r\nx-fsm-target-port: 8080\r\nx-fsm-source-identity: \(MeshPair.clientIdentity)\r\n\r\n")
        #expect(rig.answer().hasPrefix("HTTP/1.1 503"))
        #expect(rig.stat("inbound.app_unreachable") == 1)
        #expect(rig.stat("runtime.local_app_cx_connect_fail") == 1)
    }
}
