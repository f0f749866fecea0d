import Logging
import MeshFuzz
import MeshModel
import MeshProxy
import MeshRuntime
import NIOCore
import NIOEmbedded

/// The sidecar's request path under a fuzzer. Two sidecars, bookbuyer's (the client) and
/// bookstore's (the server), with the controller's configs for `SidecarFuzzMesh`, run on one
/// EmbeddedEventLoop; their connections get the production set-up
/// (`SidecarDriver.configureAcceptedConnection`). Every connection a sidecar opens is an
/// EmbeddedChannel joined in memory to its far end: the server sidecar's inbound listener, or the
/// app (`addFuzzApp`). An input (`SidecarFuzzInput`) is one client connection to the client's
/// outbound listener or to the server's inbound listener.
///
/// After each input the client goes away, every connection closes and the clock runs past every
/// timer; then neither sidecar may hold anything (an exchange, a connection, a request in
/// progress): a leak is a finding, as are a crash and connections that never settle. The sidecars
/// are reused across inputs (building one costs more than most inputs): their counters grow, time
/// moves on 10 minutes per input (token buckets refill), and the mesh has no traffic split, so no
/// balancer state carries over from one input to the next.
public final class SidecarFuzzHarness {
    let loop = EmbeddedEventLoop()
    let mesh: SidecarFuzzMesh
    let client: SidecarDriver
    let server: SidecarDriver
    /// The connections the sidecars opened during the current input.
    private var links: [FuzzLink] = []
    private var appScript: [UInt8]?
    /// What the client received during the last input (its first MiB).
    public private(set) var received: [UInt8] = []
    /// The client has gone away (what the sidecar writes after that never reaches it).
    private var clientGone = false
    /// Rounds of moving bytes and running tasks after which connections count as never settling.
    static let maxRounds = 2000

    public init() {
        let mesh = SidecarFuzzMesh.make()
        let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        self.mesh = mesh
        client = SidecarDriver(eventLoop: loop, settings: SidecarSettings(podIP: mesh.clientIP, peerTransport: .insecurePlaintext), logger: logger)
        server = SidecarDriver(eventLoop: loop, settings: SidecarSettings(podIP: mesh.serverIP, peerTransport: .insecurePlaintext), logger: logger)
        for (driver, config) in [(client, mesh.client), (server, mesh.server)] {
            driver.upstreamConnector = { [unowned self, unowned driver] host, port, _, initialize in
                connect(from: driver, host: host, port: port, initialize: initialize)
            }
            guard case .applied = driver.apply(config) else { fatalError("the engine rejects the controller's config for \(config.serviceIdentity)") }
        }
    }

    deinit {
        // Timers of connections long closed (all harmless by now).
        loop.advanceTime(by: .hours(1))
    }

    public func run(_ data: UnsafeRawBufferPointer) throws(FuzzFinding) {
        try run(SidecarFuzzInput(data))
    }

    public func run(_ input: SidecarFuzzInput) throws(FuzzFinding) {
        appScript = input.appScript
        received.removeAll(keepingCapacity: true)
        clientGone = false
        let (driver, listener): (SidecarDriver, ListenerKind) = input.listener == .outbound ? (client, .outbound) : (server, .inbound)
        let downstream = EmbeddedChannel(loop: loop)
        var finding: FuzzFinding?
        do {
            try accept(downstream, on: driver, listener: listener)
            try feed(input, to: downstream)
        } catch {
            finding = error
        }
        do {
            try tearDown(downstream)
        } catch {
            finding = finding ?? error
        }
        if let finding { throw finding }
        try checkIdle()
    }

    // MARK: - One input

    private func accept(_ downstream: EmbeddedChannel, on driver: SidecarDriver, listener: ListenerKind) throws(FuzzFinding) {
        let local = Self.address(driver.settings.podIP, listener == .outbound ? driver.settings.outboundPort : driver.settings.inboundPort)
        do {
            try driver.configureAcceptedConnection(downstream, listener: listener)
        } catch {
            throw FuzzFinding("the \(listener) listener's connection set-up failed: \(error)")
        }
        // The app's connection comes from its own pod; a peer's from the client pod.
        downstream.remoteAddress = Self.address(mesh.clientIP, 40000)
        downstream.localAddress = local
        downstream.connect(to: local, promise: nil)
    }

    private func feed(_ input: SidecarFuzzInput, to downstream: EmbeddedChannel) throws(FuzzFinding) {
        let size = max(1, input.readSize ?? input.downstream.count)
        var start = 0
        while start < input.downstream.count, downstream.isActive {
            let end = min(input.downstream.count, start + size)
            _ = try? downstream.writeInbound(ByteBuffer(bytes: input.downstream[start..<end]))
            start = end
            if input.peersWait { loop.run() } else { try pump(downstream) }
        }
        try settle(downstream)
        guard input.clockRuns else { return }
        // Past the request-head deadline (10 s), the request timeout (15 s) and the idle deadline (300 s).
        for seconds: Int64 in [11, 5, 290] {
            loop.advanceTime(by: .seconds(seconds))
            try pump(downstream)
        }
    }

    /// The client goes away, then every connection still open closes; the clock runs past every
    /// timer left. Closes everything even when the connections do not settle (then a finding).
    private func tearDown(_ downstream: EmbeddedChannel) throws(FuzzFinding) {
        var finding: FuzzFinding?
        _ = receive(downstream)
        clientGone = true
        downstream.close(promise: nil)
        for _ in 0..<10 {
            do { try pump(downstream) } catch { finding = finding ?? error }
            guard links.contains(where: \.isOpen) else { break }
            for link in links { link.close() }
        }
        loop.advanceTime(by: .minutes(10))
        do { try pump(downstream) } catch { finding = finding ?? error }
        for link in links { link.close() }
        loop.run()
        let open = links.filter(\.isOpen).count
        links.removeAll()
        if let finding { throw finding }
        if open > 0 { throw FuzzFinding("\(open) connections still open after closing every connection ten times") }
    }

    /// Lets about two seconds pass, in steps that grow while nothing happens (1, 2, 4 ... ms), so
    /// that what is due soon happens (a retry's backoff, a per-try timeout) but not the deadlines.
    private func settle(_ downstream: EmbeddedChannel) throws(FuzzFinding) {
        try pump(downstream)
        var waited: Int64 = 0
        var step: Int64 = 1
        while waited < 2000 {
            loop.advanceTime(by: .milliseconds(step))
            waited += step
            step = try pump(downstream) ? 1 : step * 2
        }
    }

    /// Runs tasks and moves bytes between the ends of every connection until nothing moves;
    /// whether anything did.
    @discardableResult
    private func pump(_ downstream: EmbeddedChannel) throws(FuzzFinding) -> Bool {
        var movedAtAll = false
        for _ in 0..<Self.maxRounds {
            loop.run()
            var moved = receive(downstream)
            for link in links { moved = link.shuttle() || moved }
            if !moved { return movedAtAll }
            movedAtAll = true
        }
        throw FuzzFinding("the connections did not settle in \(Self.maxRounds) rounds")
    }

    /// Reads what the sidecar wrote to the client; only until the client went away (an
    /// EmbeddedChannel keeps what is written while it closes, a socket would not).
    private func receive(_ downstream: EmbeddedChannel) -> Bool {
        var moved = false
        while let buffer = try? downstream.readOutbound(as: ByteBuffer.self) {
            moved = true
            guard !clientGone, received.count < 1 << 20 else { continue }
            received += buffer.readableBytesView.prefix((1 << 20) - received.count)
        }
        return moved
    }

    /// The client sidecar's identity (what a peer names in `x-fsm-source-identity`).
    public var clientIdentity: String { mesh.client.serviceIdentity }

    /// The counters of the client (bookbuyer) or the server (bookstore) sidecar, as `/stats` shows them.
    public func stats(ofServer: Bool) -> String {
        (ofServer ? server : client).statsText()
    }

    private func checkIdle() throws(FuzzFinding) {
        for (name, driver) in [("client", client), ("server", server)] {
            let held = driver.occupancy
            guard held.engine == .empty, held.exchanges == 0, held.upstreams == 0, held.requestsInProgress == 0 else {
                throw FuzzFinding("the \(name) sidecar still holds traffic after every connection closed: engine \(held.engine); "
                    + "driver exchanges \(held.exchanges), upstream links \(held.upstreams), requests in progress \(held.requestsInProgress)")
            }
        }
    }

    // MARK: - Connections the sidecars open

    /// What `ClientBootstrap` would do, in memory: the far end is the server sidecar's inbound
    /// listener when the server's inbound port on its pod is dialled, else the app.
    private func connect(from driver: SidecarDriver, host: String, port: Int,
                         initialize: (any Channel) throws -> Void) -> EventLoopFuture<any Channel> {
        let near = EmbeddedChannel(loop: loop)
        let far = EmbeddedChannel(loop: loop)
        let link = FuzzLink(near: near, far: far)
        do {
            try initialize(near)
            if host == mesh.serverIP, port == server.settings.inboundPort {
                try server.configureAcceptedConnection(far, listener: .inbound)
            } else {
                try far.pipeline.syncOperations.addFuzzApp(port: port, script: appScript)
            }
        } catch {
            link.close()
            return loop.makeFailedFuture(error)
        }
        links.append(link)
        let farAddress = Self.address(host, port)
        far.localAddress = farAddress
        far.remoteAddress = Self.address(driver.settings.podIP, 50000 + links.count)
        far.connect(to: farAddress, promise: nil)
        near.remoteAddress = farAddress
        near.connect(to: farAddress, promise: nil)
        return loop.makeSucceededFuture(near)
    }

    static func address(_ host: String, _ port: Int) -> NIOCore.SocketAddress {
        (try? NIOCore.SocketAddress(ipAddress: host, port: port)) ?? (try! NIOCore.SocketAddress(ipAddress: "192.0.2.1", port: port))
    }
}

/// One connection a sidecar opened: its end and the far end, joined in memory.
final class FuzzLink {
    let near: EmbeddedChannel
    let far: EmbeddedChannel

    init(near: EmbeddedChannel, far: EmbeddedChannel) {
        self.near = near
        self.far = far
    }

    var isOpen: Bool { near.isActive || far.isActive }

    func close() {
        near.close(promise: nil)
        far.close(promise: nil)
    }

    /// Moves written bytes to the other end; a close reaches the other end too.
    func shuttle() -> Bool {
        var moved = Self.transfer(from: near, to: far)
        moved = Self.transfer(from: far, to: near) || moved
        if near.isActive != far.isActive {
            (near.isActive ? near : far).close(promise: nil)
            moved = true
        }
        return moved
    }

    static func transfer(from source: EmbeddedChannel, to destination: EmbeddedChannel) -> Bool {
        var moved = false
        while let buffer = try? source.readOutbound(as: ByteBuffer.self) {
            moved = true
            if destination.isActive { _ = try? destination.writeInbound(buffer) }
        }
        return moved
    }
}
