import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif
// Under MemberImportVisibility the socket structs' owner can be NIO's Linux shim, depending on
// how the compiler batches this module's files: import it too.
#if canImport(CNIOLinux)
import CNIOLinux
#endif

/// `SidecarProcess` with a cache directory (`fsm sidecar --cache-dir`): it keeps the last good
/// config and certificate (0700 directory, 0600 files), starts from them, stale, while the
/// controller is down, and takes the controller's fresh config once it answers.
/// Addresses: a test address block each (the controller on .1).
@Suite(.timeLimit(.minutes(2)))
struct SidecarCacheTests {
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int
    }

    static func stats(_ sidecar: SidecarProcess) async throws -> [String: UInt64] {
        parseStats(try await sidecar.onLoop { $0.statsText() })
    }

    static func ready(_ ip: String) async -> (status: Int, body: String)? {
        let adminPort = SidecarSettings(podIP: ip, peerTransport: .insecurePlaintext).adminPort
        guard let answer = try? await MeshHTTP.request(host: ip, port: adminPort, path: "/ready", timeout: .seconds(2)) else { return nil }
        return (answer.status, answer.body)
    }

    /// A service that selects echo-0 too, so echo-0's own config changes when it appears.
    static let secondService = """
    apiVersion: v1
    kind: Service
    metadata: {name: echo-admin, namespace: demo}
    spec:
      selector: {app: echo}
      ports: [{name: admin, port: 8081}]
    """

    @Test func aRestartWithTheControllerDownServesFromTheCacheUntilTheControllerAnswers() async throws {
        var generator = SystemRandomNumberGenerator()
        let authority = try MeshCertificateAuthority.createRoot(now: Date(timeIntervalSinceNow: -60), using: &generator)
        let mesh = try ControlledMesh(block: try TestAddressBlock.lease(), files: ControllerServerTests.smiFiles)
        var settings = mesh.settings
        settings.certificateAuthority = authority // the same root across controller restarts
        let cacheRoot = mesh.directory.deletingLastPathComponent().appendingPathComponent(mesh.directory.lastPathComponent + "-cache")
        let echoCache = SidecarCache(directory: cacheRoot.appendingPathComponent("pods/demo_echo-0/cache").path)
        let clientCache = SidecarCache(directory: cacheRoot.appendingPathComponent("pods/demo_client-0/cache").path)
        var sidecars: [SidecarProcess] = []
        var controller: ControllerServer?
        let app = EchoApp()
        do {
            controller = try await ControllerServer.start(manifests: mesh.directory.path, settings: settings, logger: mesh.logger)
            let clientIP = try await mesh.podIP("client-0"), echoIP = try await mesh.podIP("echo-0")
            try await app.start(host: echoIP, port: 8080)
            func startEcho() async throws -> SidecarProcess {
                try await SidecarProcess.start(controller: mesh.endpoint("echo-0"), settings: SidecarSettings(podIP: echoIP, peerTransport: .mutualTLSFromController),
                                               logger: mesh.logger, certificateWait: .seconds(5), cache: echoCache)
            }
            var echo = try await startEcho()
            sidecars.append(echo)
            let client = try await SidecarProcess.start(controller: mesh.endpoint("client-0"), settings: SidecarSettings(podIP: clientIP, peerTransport: .mutualTLSFromController),
                                                        logger: mesh.logger, certificateWait: .seconds(5), cache: clientCache)
            sidecars.append(client)
            mesh.client = client
            #expect(await eventually(within: 10) { await mesh.call() == 200 })

            // The cache: a 0700 directory, each file 0600, the config the sidecar runs.
            #expect(Self.mode(echoCache.directory) == 0o700)
            #expect(Self.mode(cacheRoot.appendingPathComponent("pods").path) == 0o700)
            for file in [SidecarCache.configFile, SidecarCache.certificateFile, SidecarCache.privateKeyFile, SidecarCache.caFile] {
                #expect(Self.mode((echoCache.directory as NSString).appendingPathComponent(file)) == 0o600, "\(file)")
            }
            let cachedText = try String(contentsOfFile: (echoCache.directory as NSString).appendingPathComponent(SidecarCache.configFile), encoding: .utf8)
            let runningVersion = try await echo.onLoop { $0.config?.version }
            #expect(try ProxyConfig(jsonText: cachedText).version == runningVersion)
            #expect(try await Self.stats(echo)["runtime.config_stale"] == 0)

            // The controller goes away and the manifests change meanwhile; echo's sidecar restarts
            // twice: with nothing listening on the controller's port (the first requests fail at
            // once), then with a port that accepts connections and answers nothing (a hung
            // controller: they time out after `answerTimeout`, 3 s each). Both times it serves
            // from the cache.
            await controller?.shutdown()
            controller = nil
            try mesh.write("40-echo-admin.yaml", Self.secondService)
            var hung: SilentListener?
            for round in ["unreachable", "hung"] {
                await echo.shutdown(drainTimeout: .zero)
                sidecars.removeAll { $0 === echo }
                if round == "hung" { hung = try SilentListener(host: mesh.controllerHost, port: 6060) }
                echo = try await startEcho()
                sidecars.append(echo)
                #expect(await eventually(within: 10) { await Self.ready(echoIP)?.status == 200 }, "\(round)")
                let stale = await Self.ready(echoIP)
                #expect(stale?.body.contains("stale") == true, "\(round)")
                let staleStats = try await Self.stats(echo)
                #expect(staleStats["runtime.config_stale"] == 1, "\(round)")
                #expect(staleStats["runtime.config_cache_loaded", default: 0] >= 2, "\(round)") // the certificate and the config
                #expect(try await echo.onLoop { $0.config?.version } == runningVersion, "\(round)")
                // It serves: the client's requests reach the app through the restarted sidecar.
                #expect(await eventually(within: 10) { await mesh.call() == 200 }, "\(round)")
                let prometheus = try await echo.onLoop { $0.prometheusText() }
                #expect(prometheus.contains("sidecar_runtime_config_stale 1"), "\(round)")
            }

            // The controller is back: the fresh config (with the new service) replaces the cache.
            hung?.close()
            controller = try await ControllerServer.start(manifests: mesh.directory.path, settings: settings, logger: mesh.logger)
            #expect(await eventually(within: 15) { ((try? await Self.stats(echo))?["runtime.config_stale"]) == 0 })
            let fresh = try await echo.onLoop { $0.configDump() ?? "" }
            #expect(fresh.contains("8081"))
            #expect(await Self.ready(echoIP)?.body == "ready\n")
            let recached = try String(contentsOfFile: (echoCache.directory as NSString).appendingPathComponent(SidecarCache.configFile), encoding: .utf8)
            #expect(recached.contains("8081"))
            #expect(await eventually(within: 10) { await mesh.call() == 200 })
        } catch {
            Issue.record(error)
        }
        for sidecar in sidecars { await sidecar.shutdown(drainTimeout: .zero) }
        await app.stop()
        await controller?.shutdown()
        await mesh.stop()
        try? FileManager.default.removeItem(at: cacheRoot)
    }

    @Test func aCorruptConfigOrAnExpiredCertificateInTheCacheIsNotUsed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sidecar-cache-\(UInt32.random(in: 0...UInt32.max))")
        let cache = SidecarCache(directory: directory.path)
        defer { try? FileManager.default.removeItem(at: directory) }
        try cache.prepare()
        var logger = Logger(label: "test.cache")
        logger.logLevel = .critical
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        // No controller listens on the block's .1.
        let endpoint = ControllerEndpoint(host: block.address(1), port: 6060, namespace: "demo", pod: "echo-0", minBackoff: .milliseconds(50), maxBackoff: .milliseconds(200))

        // A certificate that expired an hour ago: not used, so the sidecar waits for the controller and gives up.
        let expired = try TestCA.shared.issue("echo.demo.cluster.local", now: Date(timeIntervalSinceNow: -7200), validity: .hours(1))
        try SecretFile.write(expired.certificatePEM, to: directory.appendingPathComponent(SidecarCache.certificateFile).path)
        try SecretFile.write(expired.privateKeyPEM, to: directory.appendingPathComponent(SidecarCache.privateKeyFile).path)
        try SecretFile.write(expired.issuerPEM, to: directory.appendingPathComponent(SidecarCache.caFile).path)
        await #expect(throws: (any Error).self) {
            let sidecar = try await SidecarProcess.start(controller: endpoint, settings: SidecarSettings(podIP: block.address(10), peerTransport: .mutualTLSFromController),
                                                         logger: logger, certificateWait: .milliseconds(500), cache: cache)
            await sidecar.shutdown()
        }

        // A config file that is not a config: ignored (counted), so the sidecar has none and is not ready.
        try SecretFile.write("{\"not\": \"a config\"", to: directory.appendingPathComponent(SidecarCache.configFile).path)
        let sidecar = try await SidecarProcess.start(controller: endpoint, settings: SidecarSettings(podIP: block.address(10), peerTransport: .insecurePlaintext),
                                                     logger: logger, cache: cache)
        #expect(await eventually(within: 5) { ((try? await Self.stats(sidecar))?["runtime.config_cache_rejected"]) == 1 })
        #expect(await Self.ready(block.address(10))?.status == 503)
        #expect(try await Self.stats(sidecar)["runtime.config_stale"] == 0)
        await sidecar.shutdown(drainTimeout: .zero)
    }
}

/// A TCP port that completes connections (the kernel's backlog) and never reads or answers: a
/// controller that hangs.
final class SilentListener {
    private var fd: Int32

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        // NIO's address type builds the sockaddr (its C fields' owning module depends on which
        // module a compile batch loaded first, which MemberImportVisibility then insists on).
        let bound = (try? NIOCore.SocketAddress(ipAddress: host, port: port))?.withSockAddr { pointer, size in
            bind(fd, pointer, socklen_t(size))
        } ?? -1
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else {
            let problem = TestFailure("cannot listen on \(host):\(port): errno \(errno)")
            Glibc.close(fd)
            throw problem
        }
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
