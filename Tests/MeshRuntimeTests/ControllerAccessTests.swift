import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOHTTP1
import Testing

/// Who may use which endpoint of the controller (issue 9 item 1): certificates and configs only
/// with the pod's own credential, the rest with the operator's, nothing of a resource on refusal.
/// Addresses: .1 (controller), .11 (buyer-1), .12 (store-1) of a test address block each.
@Suite(.timeLimit(.minutes(2)))
struct ControllerAccessTests {
    /// A controller on the block's .1 (port chosen by the system) over the manifests above.
    struct Controller {
        let block: LoopbackBlockLease
        let server: ControllerServer
        var host: String { block.address(1) }
        var port: Int { server.address?.port ?? 0 }
        var buyerIP: String { block.address(11) }
        var storeIP: String { block.address(12) }

        static func run(extraManifests: String = "", _ body: (Controller) async throws -> Void) async throws {
            try await TestAddressBlock.with { block in try await run(block: block, extraManifests: extraManifests, body) }
        }

        private static func run(block: LoopbackBlockLease, extraManifests: String, _ body: (Controller) async throws -> Void) async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-access-\(block.block)-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let manifests = ControllerCertificateTests.manifests(buyerIP: block.address(11), storeIP: block.address(12)) + extraManifests
            try Data(manifests.utf8).write(to: directory.appendingPathComponent("mesh.yaml"))
            var logger = Logger(label: "test.access")
            logger.logLevel = .critical
            let server = try await ControllerServer.start(
                manifests: directory.path, settings: ControllerSettings(host: block.address(1), port: 0, pollInterval: .milliseconds(250)), logger: logger)
            do {
                try await body(Controller(block: block, server: server))
            } catch {
                Issue.record(error)
            }
            await server.shutdown()
        }

        func token(_ subject: CredentialSubject) throws -> String {
            try mintToken(server.credentials, subject)
        }

        func call(_ method: HTTPMethod, _ path: String, authorization: String?, body: String? = nil, from: String? = nil) async throws -> MeshHTTPResponse {
            try await MeshHTTP.request(host: host, port: port, method: method, path: path, headers: authorization.map { [("authorization", $0)] } ?? [],
                                               body: body, timeout: .seconds(5), localAddress: from)
        }

        func metric(_ name: String, reason: String) async throws -> Double? {
            try await metric(name, label: "reason", value: reason)
        }

        func metric(_ name: String, label: String, value: String) async throws -> Double? {
            let text = try await call(.GET, "/metrics", authorization: nil).body
            return try parsePrometheus(text).first { $0.name == name && $0.labels[label] == value }?.value
        }
    }

    /// The callers of the table, in column order.
    enum Caller: CaseIterable {
        case none, garbage, basicScheme, foreignKey, otherPod, `operator`, ownPod
    }

    enum Expect: Equatable {
        case ok, notFound
        case refused(ControllerAccess.Reason)
    }

    static func certificateRequest() throws -> String {
        var generator = SystemRandomNumberGenerator()
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        return try MeshCertificateRequest(identity: nil, privateKey: key).pem
    }

    @Test func everyEndpointAnswersEachCallerAsTheTableSays() async throws {
        let missing = Expect.refused(.missingCredential), malformed = Expect.refused(.malformedCredential), invalid = Expect.refused(.invalidCredential)
        let operatorOnly = Expect.refused(.operatorOnly), otherPod = Expect.refused(.otherPod), podOnly = Expect.refused(.podOnly)
        let open: [Expect] = Array(repeating: .ok, count: 7)
        // Columns: no credential, garbage, Basic scheme, another key's, store-1's, operator's, buyer-1's.
        let table: [(HTTPMethod, String, [Expect])] = [
            (.GET, "/healthz", open),
            (.GET, "/metrics", open),
            (.GET, "/v1/ca", open),
            (.GET, "/v1/pods", [missing, malformed, malformed, invalid, operatorOnly, .ok, operatorOnly]),
            (.GET, "/v1/status", [missing, malformed, malformed, invalid, operatorOnly, .ok, operatorOnly]),
            (.GET, "/v1/pods/shop/buyer-1", [missing, malformed, malformed, invalid, otherPod, .ok, .ok]),
            (.GET, "/v1/configs/shop/buyer-1", [missing, malformed, malformed, invalid, otherPod, podOnly, .ok]),
            (.GET, "/v1/configs/shop/buyer-1/?version=old&wait=1s", [missing, malformed, malformed, invalid, otherPod, podOnly, .ok]),
            (.POST, "/v1/certificates/shop/buyer-1", [missing, malformed, malformed, invalid, otherPod, podOnly, .ok]),
            (.GET, "/v1/nothing/here", Array(repeating: .notFound, count: 7)),
        ]
        try await Controller.run { controller in
            let foreign = try mintToken(try CredentialAuthority(keyBytes: [UInt8](repeating: 3, count: 32)), .pod(namespace: "shop", name: "buyer-1"))
            let headers: [Caller: String?] = [
                .none: nil, .garbage: "Bearer not-a-token", .basicScheme: "Basic YnV5ZXI6c2VjcmV0", .foreignKey: "Bearer \(foreign)",
                .otherPod: "Bearer \(try controller.token(.pod(namespace: "shop", name: "store-1")))",
                .operator: "Bearer \(try controller.token(.operator))",
                .ownPod: "Bearer \(try controller.token(.pod(namespace: "shop", name: "buyer-1")))",
            ]
            let csr = try Self.certificateRequest()
            var refusals: [ControllerAccess.Reason: Int] = [:]
            for (method, path, expectations) in table {
                for (caller, expected) in zip(Caller.allCases, expectations) {
                    let response = try await controller.call(method, path, authorization: headers[caller] ?? nil,
                                                              body: method == .POST ? csr : nil, from: controller.buyerIP)
                    Self.check(response, expected, "\(method) \(path) as \(caller)")
                    if case .refused(let reason) = expected { refusals[reason, default: 0] += 1 }
                }
            }
            for reason in ControllerAccess.Reason.allCases {
                #expect(try await controller.metric("fsm_api_refused_count", reason: reason.rawValue) == Double(refusals[reason, default: 0]), "\(reason)")
            }
            // Only the buyer's own request got a certificate.
            let metrics = try parsePrometheus(try await controller.call(.GET, "/metrics", authorization: nil).body)
            #expect(metrics.first { $0.name == "fsm_cert_issued_count" }?.value == 1)
        }
    }

    /// What a caller sees: the resource on success, and on refusal the status, a challenge on 401,
    /// and one line of text that holds nothing of the resource.
    static func check(_ response: MeshHTTPResponse, _ expected: Expect, _ what: String) {
        switch expected {
        case .ok:
            #expect(response.status == 200, "\(what): \(response.status) \(response.body.prefix(200))")
            if what.contains("/v1/configs/") { #expect((try? ProxyConfig(jsonText: response.body))?.serviceIdentity == "buyer.shop.cluster.local", "\(what)") }
            if what.contains("/v1/certificates/") { #expect(response.body.contains("BEGIN CERTIFICATE"), "\(what)") }
        case .notFound:
            #expect(response.status == 404, "\(what): \(response.status)")
        case .refused(let reason):
            #expect(response.status == Int(reason.status.code), "\(what): \(response.status) \(response.body.prefix(200))")
            #expect(response.header("www-authenticate") == (reason.status == .unauthorized ? ControllerAccess.challenge(for: reason) : nil), "\(what)")
            #expect(!response.body.contains("BEGIN") && !response.body.contains("{") && !response.body.contains("127.91."), "\(what): \(response.body)")
            #expect(response.body.split(separator: "\n").count == 1, "\(what): \(response.body)")
        }
    }

    /// The issue's attack: any local process can bind a pod's address; without that pod's
    /// credential it gets no certificate. The address stays a second factor for one that has it.
    @Test func bindingThePodsAddressWithoutItsCredentialGetsNoCertificate() async throws {
        try await Controller.run { controller in
            let csr = try Self.certificateRequest()
            let path = "/v1/certificates/shop/buyer-1"
            let buyer = "Bearer \(try controller.token(.pod(namespace: "shop", name: "buyer-1")))"
            let store = "Bearer \(try controller.token(.pod(namespace: "shop", name: "store-1")))"
            let bare = try await controller.call(.POST, path, authorization: nil, body: csr, from: controller.buyerIP)
            #expect(bare.status == 401)
            #expect(bare.header("www-authenticate") == "Bearer realm=\"fsm-controller\"")
            #expect(try await controller.call(.POST, path, authorization: store, body: csr, from: controller.buyerIP).status == 403)
            // The buyer's credential, but from the store's address: refused by the address check.
            let elsewhere = try await controller.call(.POST, path, authorization: buyer, body: csr, from: controller.storeIP)
            #expect(elsewhere.status == 403)
            #expect(elsewhere.body.contains("issued to its own address"))
            // The buyer's credential from the buyer's address: the certificate.
            let granted = try await controller.call(.POST, path, authorization: buyer, body: csr, from: controller.buyerIP)
            #expect(granted.status == 200)
            #expect(try await controller.metric("fsm_cert_refused_count", reason: "wrong_address") == 1)
            #expect(try await controller.metric("fsm_api_refused_count", reason: "missing_credential") == 1)
            #expect(try await controller.metric("fsm_api_refused_count", reason: "other_pod") == 1)
            // FSM's code for a proxy credential used for another pod: E5002, counted by code.
            #expect(try await controller.metric("fsm_error_err_code_count", label: "err_code", value: "E5002") == 1)

            // A sidecar without a credential never gets a certificate, so it does not start.
            let endpoint = ControllerEndpoint(host: controller.host, port: controller.port, namespace: "shop", pod: "buyer-1",
                                              minBackoff: .milliseconds(50), maxBackoff: .milliseconds(100))
            var logger = Logger(label: "test.access")
            logger.logLevel = .critical
            let error = await #expect(throws: PeerCertificateError.self) {
                try await SidecarProcess.start(controller: endpoint, settings: SidecarSettings(podIP: controller.buyerIP, peerTransport: .mutualTLSFromController),
                                               logger: logger, certificateWait: .milliseconds(300))
            }
            #expect(error?.description.contains("(401)") == true)
        }
    }

    /// A problem in the mesh's resources is logged with FSM's error code and counted by code
    /// (`fsm_error_err_code_count`, the guides' 8.2): a split whose backend does not exist is E2008.
    @Test func resourceProblemsAreCountedByErrorCode() async throws {
        let split = """

            ---
            apiVersion: split.smi-spec.io/v1alpha4
            kind: TrafficSplit
            metadata: {name: store-split, namespace: shop}
            spec:
              service: store
              backends: [{service: store-v9, weight: 100}]
            """
        try await Controller.run(extraManifests: split) { controller in
            var counted: Double?
            for _ in 0..<50 {
                counted = try await controller.metric("fsm_error_err_code_count", label: "err_code", value: "E2008")
                if counted != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(counted == 1)
            let status = try await controller.call(.GET, "/v1/status", authorization: "Bearer \(try controller.token(.operator))").body
            #expect(status.contains("E2008: TrafficSplit shop/store-split: backend service shop/store-v9 does not exist"), "\(status)")
        }
    }

    /// `fsm sidecar --credential-file`: the file is read for every request, so a credential put
    /// in place while the sidecar runs is used from then on.
    @Test func aSidecarUsesItsCredentialFileAsItIsNow() async throws {
        try await Controller.run { controller in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-access-cred-\(UInt32.random(in: 0...UInt32.max))")
            try SecretFile.createDirectory(directory.path)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("credential").path
            // Another pod's credential first.
            try SecretFile.write(try controller.token(.pod(namespace: "shop", name: "store-1")) + "\n", to: file)
            let endpoint = ControllerEndpoint(host: controller.host, port: controller.port, namespace: "shop", pod: "buyer-1",
                                              minBackoff: .milliseconds(50), maxBackoff: .milliseconds(200), credential: .file(file))
            var logger = Logger(label: "test.access")
            logger.logLevel = .critical
            let sidecar = try await SidecarProcess.start(controller: endpoint, settings: SidecarSettings(podIP: controller.buyerIP, peerTransport: .insecurePlaintext), logger: logger)
            do {
                #expect(try await eventually(within: 10) { parseStats(try await sidecar.onLoop { $0.statsText() })["runtime.config_fetch_failed", default: 0] >= 2 })
                #expect(try await sidecar.onLoop { $0.isReady } == false)
                try SecretFile.write(try controller.token(.pod(namespace: "shop", name: "buyer-1")) + "\n", to: file)
                #expect(try await eventually(within: 10) { try await sidecar.onLoop { $0.isReady } })
                #expect(try await sidecar.onLoop { $0.config?.serviceIdentity } == "buyer.shop.cluster.local")
            } catch {
                Issue.record(error)
            }
            await sidecar.shutdown()
            // Refused again and again, but logged once per cause; counted each time.
            #expect((try await controller.metric("fsm_api_refused_count", reason: "other_pod") ?? 0) >= 2)
        }
    }
}

/// The access decisions alone, without sockets.
@Suite struct ControllerAccessDecisionTests {
    static let access = ControllerAccess(credentials: try! CredentialAuthority(keyBytes: [UInt8](repeating: 1, count: 32)))
    static let buyer = PodKey(namespace: "shop", name: "buyer-1")

    static func bearer(_ subject: CredentialSubject) throws -> [String] {
        ["Bearer \(try access.credentials.mint(subject, instance: [1]).token)"]
    }

    @Test func pathsAndMethodsNameTheResource() {
        #expect(ControllerResource.parse(method: .GET, path: "/v1/configs/shop/buyer-1") == .resource(.config(Self.buyer)))
        #expect(ControllerResource.parse(method: .GET, path: "//v1//configs/shop/buyer-1/") == .resource(.config(Self.buyer)))
        #expect(ControllerResource.parse(method: .POST, path: "/v1/certificates/shop/buyer-1") == .resource(.certificate(Self.buyer)))
        #expect(ControllerResource.parse(method: .GET, path: "/v1/certificates/shop/buyer-1") == .wrongMethod(allowed: .POST))
        #expect(ControllerResource.parse(method: .POST, path: "/v1/pods") == .wrongMethod(allowed: .GET))
        #expect(ControllerResource.parse(method: .GET, path: "/v1/configs/shop/../store-1") == .unknownPath)
        #expect(ControllerResource.parse(method: .GET, path: "/v1/secrets/shop/buyer-1") == .unknownPath)
    }

    @Test func aPodsCredentialOpensOnlyThatPodsResources() throws {
        let buyer = try Self.bearer(.pod(namespace: "shop", name: "buyer-1"))
        let subject = CredentialSubject.pod(namespace: "shop", name: "buyer-1")
        for resource in [ControllerResource.config(Self.buyer), .certificate(Self.buyer), .pod(Self.buyer)] {
            #expect(Self.access.decide(resource, authorization: buyer) == .granted(subject))
        }
        let store = PodKey(namespace: "shop", name: "store-1")
        for resource in [ControllerResource.config(store), .certificate(store), .pod(store)] {
            guard case .refused(let refusal) = Self.access.decide(resource, authorization: buyer) else {
                Issue.record("\(resource) granted to the buyer")
                continue
            }
            #expect(refusal.reason == .otherPod)
            #expect(refusal.message == "pod shop/buyer-1 may not use the API of pod shop/store-1")
        }
        // A pod in another namespace with the same name is another pod.
        let twin = PodKey(namespace: "other", name: "buyer-1")
        #expect(Self.access.decide(.config(twin), authorization: buyer) != .granted(subject))
        for resource in [ControllerResource.podList, .status] {
            if case .refused(let refusal) = Self.access.decide(resource, authorization: buyer) { #expect(refusal.reason == .operatorOnly) } else { Issue.record("\(resource)") }
        }
    }

    @Test func theOperatorReadsStatusButGetsNoConfigOrCertificate() throws {
        let admin = try Self.bearer(.operator)
        for resource in [ControllerResource.podList, .status, .pod(Self.buyer)] {
            #expect(Self.access.decide(resource, authorization: admin) == .granted(.operator))
        }
        for resource in [ControllerResource.config(Self.buyer), .certificate(Self.buyer)] {
            if case .refused(let refusal) = Self.access.decide(resource, authorization: admin) {
                #expect(refusal.reason == .podOnly)
                #expect(refusal.reason.status == .forbidden)
            } else {
                Issue.record("\(resource) granted to the operator")
            }
        }
    }

    @Test func openResourcesNeedNothingAndTheRestNeedAValidCredential() {
        for resource in [ControllerResource.health, .metrics, .rootCertificate] {
            #expect(Self.access.decide(resource, authorization: []) == .granted(nil))
        }
        let cases: [([String], ControllerAccess.Reason)] = [
            ([], .missingCredential), (["Bearer x"], .malformedCredential), (["Token abc"], .malformedCredential),
            (["Bearer fsm1.AAAA.AAAA"], .invalidCredential),
        ]
        for (header, reason) in cases {
            guard case .refused(let refusal) = Self.access.decide(.config(Self.buyer), authorization: header) else {
                Issue.record("\(header) granted")
                continue
            }
            #expect(refusal.reason == reason)
            #expect(refusal.reason.status == .unauthorized)
        }
        #expect(ControllerAccess.challenge(for: .missingCredential) == "Bearer realm=\"fsm-controller\"")
        #expect(ControllerAccess.challenge(for: .invalidCredential) == "Bearer realm=\"fsm-controller\", error=\"invalid_token\"")
    }
}
