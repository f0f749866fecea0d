import AsyncHTTPClient
import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshTesting
import NIOCore
import NIOHTTP1
import Testing

/// `fsm controller --kubernetes` against the API-server double: the same configs as from the
/// manifest directory, events served without a poll tick, health, leader election, and no config,
/// certificate or key for a caller without the pod's credential. Addresses: 127.93.<10..19>.x.
@Suite(.timeLimit(.minutes(3)))
struct KubeControllerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let bookstore = repository.appendingPathComponent("deploy/samples/bookstore").path

    struct Answer {
        var status: Int
        var body: String
        var headers: [(String, String)]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
    }

    static func call(_ url: String, method: HTTPMethod = .GET, token: String? = nil, body: String? = nil, from: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        request.localAddress = from
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: bytes), headers: response.headers.map { ($0.name, $0.value) })
    }

    static func token(_ server: ControllerServer, _ subject: CredentialSubject) throws -> String {
        var generator = SystemRandomNumberGenerator()
        return try server.credentials.mint(subject, using: &generator).token
    }

    static func base(_ server: ControllerServer, host: String) -> String { "http://\(host):\(server.address?.port ?? 0)" }

    /// Starts a `--kubernetes` controller on `host` against `double`.
    static func startKube(_ double: KubeAPIDouble, host: String, identity: String = "replica-a", pollInterval: TimeAmount = .seconds(60),
                          election: LeaderElection? = nil, logger: Logger = quietLogger()) async throws -> KubeController {
        var settings = KubeController.Settings(
            controller: ControllerSettings(host: host, port: 0, pollInterval: pollInterval, operations: (host, 0)),
            identity: identity, informers: fastInformers, requestTimeout: .seconds(5))
        if let election { settings.election = election }
        return try await KubeController.start(connection: KubeConnection(server: double.url), settings: settings, logger: logger)
    }

    static func meshedPods(_ server: ControllerServer) async throws -> [PodKey] {
        try await server.status().meshedPods
    }

    @Test func theClusterGivesTheSameConfigsAsTheManifestDirectoryByteForByte() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(10, 1)))
        try await double.load(list: bookstoreFixture())
        let manifests = try await ControllerServer.start(manifests: Self.bookstore, settings: ControllerSettings(host: KubeTestNet.host(10, 2), port: 0),
                                                         logger: quietLogger())
        let kube = try await Self.startKube(double, host: KubeTestNet.host(10, 3))
        do {
            let expected = try await Self.meshedPods(manifests)
            #expect(expected.count == 5)
            #expect(await eventually { (try? await Self.meshedPods(kube.server)) == expected })
            for pod in expected {
                let path = "/v1/configs/\(pod.namespace)/\(pod.name)"
                let fromFiles = try await Self.call(Self.base(manifests, host: KubeTestNet.host(10, 2)) + path,
                                                    token: Self.token(manifests, .pod(namespace: pod.namespace, name: pod.name)))
                let fromCluster = try await Self.call(Self.base(kube.server, host: KubeTestNet.host(10, 3)) + path,
                                                      token: Self.token(kube.server, .pod(namespace: pod.namespace, name: pod.name)))
                #expect(fromFiles.status == 200)
                #expect(fromCluster.status == 200)
                #expect(fromCluster.body == fromFiles.body, "config of \(pod) differs")
                #expect(fromCluster.header("x-fsm-config-version") == fromFiles.header("x-fsm-config-version"))
            }
            let status = try await kube.server.status()
            #expect(status.manifestErrors.isEmpty)
            #expect(status.synced)
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await manifests.shutdown()
        await double.shutdown()
    }

    @Test func anEndpointChangeIsServedWithoutWaitingForAPollTick() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(11, 1)))
        try await double.load(list: bookstoreFixture())
        // A poll tick of a minute: only the source's wake-up can bring the change in time.
        let kube = try await Self.startKube(double, host: KubeTestNet.host(11, 2), pollInterval: .seconds(60))
        do {
            #expect(await eventually { (try? await Self.meshedPods(kube.server))?.count == 5 })
            let base = Self.base(kube.server, host: KubeTestNet.host(11, 2))
            let buyer = try Self.token(kube.server, .pod(namespace: "bookbuyer", name: "bookbuyer-0"))
            let first = try await Self.call(base + "/v1/configs/bookbuyer/bookbuyer-0", token: buyer)
            #expect(first.body.contains("127.1.0.12:14001"))
            let version = try #require(first.header("x-fsm-config-version"))
            // bookstore-0 moves to another address; the buyer's long poll answers with it.
            guard var pod = await double.object(.pods, namespace: "bookstore", name: "bookstore-0") else { Issue.record("no bookstore-0"); return }
            pod = pod.setting("status", to: (pod["status"] ?? .object([])).setting("podIP", to: .string("127.1.0.42")))
            async let held = Self.call(base + "/v1/configs/bookbuyer/bookbuyer-0?version=\(version)&wait=20s", token: buyer)
            try await Task.sleep(for: .milliseconds(100))
            await double.put(.pods, [pod])
            let changed = try await held
            #expect(changed.status == 200)
            #expect(changed.body.contains("127.1.0.42:14001"))
            #expect(!changed.body.contains("127.1.0.12:14001"))
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }

    @Test func healthAndMetricsAnswerOnTheOperationsPortAndNothingElseDoes() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(12, 1)))
        try await double.load(list: bookstoreFixture())
        // Pods are listed slowly: the controller is alive but not ready until they are.
        await double.inject(.delay(.milliseconds(1500)), on: [.list], type: .pods)
        let kube = try await Self.startKube(double, host: KubeTestNet.host(12, 2))
        do {
            let operations = "http://\(KubeTestNet.host(12, 2)):\(kube.server.operationsAddress?.port ?? 0)"
            let alive = try await Self.call(operations + "/health/alive")
            #expect(alive.status == 200)
            #expect(alive.body == "Service is alive")
            #expect(try await Self.call(operations + "/health/ready").status == 503)
            #expect(await eventually { (try? await Self.call(operations + "/health/ready").status) == 200 })
            let metrics = try await Self.call(operations + "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("fsm_api_refused_count") || metrics.body.contains("fsm_cert"))
            // The operations port serves nothing of the API, whatever the credential.
            let buyer = try Self.token(kube.server, .pod(namespace: "bookbuyer", name: "bookbuyer-0"))
            #expect(try await Self.call(operations + "/v1/configs/bookbuyer/bookbuyer-0", token: buyer).status == 404)
            #expect(try await Self.call(operations + "/v1/ca").status == 404)
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }

    /// No config, certificate or key without the pod's own credential, on either listener.
    @Test func anUnauthenticatedCallerObtainsNothing() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(13, 1)))
        try await double.load(list: bookstoreFixture())
        let kube = try await Self.startKube(double, host: KubeTestNet.host(13, 2))
        do {
            #expect(await eventually { (try? await Self.meshedPods(kube.server))?.count == 5 })
            let base = Self.base(kube.server, host: KubeTestNet.host(13, 2))
            var foreignGenerator = SeededGenerator(seed: 99)
            let foreignKey = CredentialAuthority.generateKey(using: &foreignGenerator)
            let foreign = try CredentialAuthority(keyBytes: foreignKey).mint(.pod(namespace: "bookbuyer", name: "bookbuyer-0"), using: &foreignGenerator).token
            let thief = try Self.token(kube.server, .pod(namespace: "bookthief", name: "bookthief-0"))
            let csr = try ControllerCertificateRequests.pem()
            let callers: [(String, String?, Int)] = [("none", nil, 401), ("garbage", "not-a-token", 401), ("foreign key", foreign, 401), ("another pod", thief, 403)]
            for (who, token, expected) in callers {
                let config = try await Self.call(base + "/v1/configs/bookbuyer/bookbuyer-0", token: token)
                #expect(config.status == expected, "config for \(who)")
                #expect(!config.body.contains("Outbound") && !config.body.contains("127.1.0."), "config body for \(who)")
                let certificate = try await Self.call(base + "/v1/certificates/bookbuyer/bookbuyer-0", method: .POST, token: token, body: csr,
                                                      from: KubeTestNet.host(13, 2))
                #expect(certificate.status == expected, "certificate for \(who)")
                #expect(!certificate.body.contains("BEGIN"), "no certificate or key for \(who)")
                #expect(try await Self.call(base + "/v1/pods", token: token).status == expected, "pod list for \(who)")
            }
            // Nothing the controller keeps in its Secrets leaks through any answer.
            let keyText = String(decoding: (await double.object(.secrets, namespace: "fsm-system", name: ControllerSecrets.caSecretName))?["data"]?["private.key"]?
                .stringValue.flatMap { Data(base64Encoded: $0) } ?? Data(), as: UTF8.self)
            #expect(keyText.contains("PRIVATE KEY"))
            let root = try await Self.call(base + "/v1/ca")
            #expect(root.status == 200)
            #expect(!root.body.contains("PRIVATE KEY"))
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }

    @Test func twoReplicasElectOneLeaderThatAloneWritesAndTheOtherTakesOverWhenItStops() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(14, 1)))
        try await double.load(list: bookstoreFixture())
        let short = { (identity: String) in LeaderElection(identity: identity, leaseDuration: .seconds(2), renewDeadline: .milliseconds(1500), retryPeriod: .milliseconds(200)) }
        let first = try await Self.startKube(double, host: KubeTestNet.host(14, 2), identity: "replica-a", election: short("replica-a"))
        let second = try await Self.startKube(double, host: KubeTestNet.host(14, 3), identity: "replica-b", election: short("replica-b"))
        do {
            #expect(first.elector.isLeader)
            #expect(!second.elector.isLeader)
            // Both serve, with one CA and one credential key (the leader made them once).
            #expect(await eventually { (try? await Self.meshedPods(second.server))?.count == 5 })
            let buyer = try Self.token(first.server, .pod(namespace: "bookbuyer", name: "bookbuyer-0"))
            #expect(try await Self.call(Self.base(second.server, host: KubeTestNet.host(14, 3)) + "/v1/configs/bookbuyer/bookbuyer-0", token: buyer).status == 200)
            #expect(first.server.rootCertificatePEM == second.server.rootCertificatePEM)
            let writes = await double.writes()
            let secretCreates = writes.filter { $0.type == .secrets && $0.verb == .create && $0.status == 201 }
            #expect(secretCreates.count == 2)
            let leaseWrites = writes.filter { $0.type == .leases && (200..<300).contains($0.status) }
            #expect(!leaseWrites.isEmpty)
            #expect(leaseWrites.allSatisfy { $0.body?["spec"]?["holderIdentity"]?.stringValue == "replica-a" })
            // The leader stops renewing without releasing: the other waits out the lease, then leads.
            let clock = ContinuousClock()
            await first.elector.stop(release: false)
            let stopped = clock.now
            #expect(await eventually(.seconds(15)) { second.elector.isLeader })
            #expect(stopped.duration(to: clock.now) >= .milliseconds(1500), "not before the lease could expire")
            let lease = await double.object(.leases, namespace: "fsm-system", name: "fsm-controller-leader")
            #expect(lease?["spec"]?["holderIdentity"]?.stringValue == "replica-b")
            #expect(lease?["spec"]?["leaseTransitions"] == .int(1))
        } catch {
            Issue.record(error)
        }
        await second.shutdown()
        await first.shutdown()
        await double.shutdown()
    }

    @Test func aReleasedLeaseIsTakenOverAtOnce() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(15, 1)))
        try await double.load(list: bookstoreFixture())
        let long = { (identity: String) in LeaderElection(identity: identity, leaseDuration: .seconds(60), renewDeadline: .seconds(40), retryPeriod: .milliseconds(200)) }
        let first = try await Self.startKube(double, host: KubeTestNet.host(15, 2), identity: "replica-a", election: long("replica-a"))
        let second = try await Self.startKube(double, host: KubeTestNet.host(15, 3), identity: "replica-b", election: long("replica-b"))
        #expect(first.elector.isLeader)
        await first.shutdown()
        // A 60 s lease, released: the follower does not wait for it.
        #expect(await eventually(.seconds(10)) { second.elector.isLeader })
        await second.shutdown()
        await double.shutdown()
    }
}

/// A certificate request as a sidecar sends it.
enum ControllerCertificateRequests {
    static func pem() throws -> String {
        var generator = SystemRandomNumberGenerator()
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        return try MeshCertificateRequest(identity: nil, privateKey: key).pem
    }
}

extension KubeControllerTests {
    /// The API server starts refusing (a revoked token) and every watch drops: the controller keeps
    /// serving the last good configs, says why in `/v1/status`, and catches up once it may read again.
    @Test func theLastGoodConfigsAreServedWhileTheAPIServerRefuses() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(17, 1), tokens: ["good"]))
        try await double.load(list: bookstoreFixture())
        var settings = KubeController.Settings(controller: ControllerSettings(host: KubeTestNet.host(17, 2), port: 0, pollInterval: .seconds(60)),
                                               identity: "replica-a", informers: fastInformers, requestTimeout: .seconds(5))
        settings.informers.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200), jitter: 0)
        let kube = try await KubeController.start(connection: KubeConnection(server: double.url, credentials: .bearerToken("good")), settings: settings,
                                                  logger: quietLogger())
        do {
            #expect(await eventually { (try? await Self.meshedPods(kube.server))?.count == 5 })
            let base = Self.base(kube.server, host: KubeTestNet.host(17, 2))
            let buyer = try Self.token(kube.server, .pod(namespace: "bookbuyer", name: "bookbuyer-0"))
            let before = try await Self.call(base + "/v1/configs/bookbuyer/bookbuyer-0", token: buyer)
            await double.acceptTokens(["rotated"])
            await double.dropWatches()
            #expect(await eventually { (try? await kube.server.status())?.manifestErrors.contains { $0.contains("401 Unauthorized") } == true })
            let during = try await Self.call(base + "/v1/configs/bookbuyer/bookbuyer-0", token: buyer)
            #expect(during.status == 200)
            #expect(during.body == before.body)
            // Allowed again, with a change made meanwhile: it arrives.
            guard var pod = await double.object(.pods, namespace: "bookstore", name: "bookstore-0") else { Issue.record("no bookstore-0"); return }
            pod = pod.setting("status", to: (pod["status"] ?? .object([])).setting("podIP", to: .string("127.1.0.43")))
            await double.put(.pods, [pod])
            await double.acceptTokens(["good"])
            #expect(await eventually(.seconds(10)) {
                (try? await Self.call(base + "/v1/configs/bookbuyer/bookbuyer-0", token: buyer))?.body.contains("127.1.0.43:14001") == true
            })
            #expect(await eventually { (try? await kube.server.status())?.manifestErrors.isEmpty == true })
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }
}
