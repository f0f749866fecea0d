import Foundation
import Logging
import MeshControl
import MeshIdentity
import MeshModel
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import X509

/// Where the controller listens and how it reads its cluster source.
public struct ControllerSettings: Sendable {
    public var host: String
    public var port: Int
    /// Namespaces treated as `fsm namespace add`ed (the simulator's `mesh.namespaces`).
    public var meshNamespaces: Set<String>
    /// Addresses given to pods and services that the manifests leave without one.
    public var addressPlan: AddressPlan
    /// How often the cluster source is polled.
    public var pollInterval: TimeAmount
    /// The longest long poll a proxy may ask for (`wait=`); longer asks are cut to this.
    public var maxWait: TimeAmount
    /// Long polls held at once; more are answered 503 (a proxy retries with backoff).
    public var maxWaiters: Int
    /// The mesh root CA that signs workload certificates; nil: a new root is created at start
    /// (`fsm controller` loads or creates one in its state directory).
    public var certificateAuthority: MeshCertificateAuthority?
    /// Issue a pod's certificate only to a request from the pod's own address (a second factor
    /// beside the pod's credential).
    public var verifyPodAddress: Bool
    /// Verifies (and mints) the pods' and the operator's credentials; nil: a key for this run only
    /// (`fsm controller` keeps one in its state directory).
    public var credentials: CredentialAuthority?
    /// The mesh this controller serves (`flomesh.io/monitored-by=<meshName>`).
    public var meshName: String
    /// The control plane's namespace (where the MeshConfig lives).
    public var controlPlaneNamespace: String
    /// A second listener, `host:port`, serving only `/metrics`, `/health/alive`, `/health/ready` and
    /// `/healthz` (port 9091 in a cluster, as the guides name it); nil: none.
    public var operations: (host: String, port: Int)?
    /// Where the certificates AccessCerts ask for go; nil: AccessCerts are read but not issued.
    public var accessCertStore: (any AccessCertStore)?
    /// How long after a failed AccessCert write it is tried again.
    public var accessCertRetry: Duration = .seconds(30)
    /// Deploys the gateways and writes their status (in a cluster); nil: configs are served only.
    public var gatewayProvisioner: (any GatewayProvisioner)?

    public init(host: String = "127.0.0.1", port: Int = 6060, meshNamespaces: Set<String> = [], addressPlan: AddressPlan = .loopback,
                pollInterval: TimeAmount = .seconds(1), maxWait: TimeAmount = .minutes(5), maxWaiters: Int = 10_000,
                certificateAuthority: MeshCertificateAuthority? = nil, verifyPodAddress: Bool = true, credentials: CredentialAuthority? = nil,
                meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system", operations: (host: String, port: Int)? = nil) {
        self.host = host
        self.port = port
        self.meshNamespaces = meshNamespaces
        self.addressPlan = addressPlan
        self.pollInterval = pollInterval
        self.maxWait = maxWait
        self.maxWaiters = maxWaiters
        self.certificateAuthority = certificateAuthority
        self.verifyPodAddress = verifyPodAddress
        self.credentials = credentials
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
        self.operations = operations
    }
}

/// What the controller reports about itself (`/v1/status`).
public struct ControllerStatus: Sendable {
    /// Current problems of the manifest files, `file:line:column: ...`.
    public var manifestErrors: [String]
    /// Reads of manifest files that failed since the start.
    public var failedReads: Int
    /// The MeshController's findings (invalid splits, missing route groups, ...).
    public var diagnostics: [String]
    public var meshedPods: [PodKey]
    /// Long polls being held.
    public var waitingProxies: Int
    /// Whether the source has read the whole cluster once (`/health/ready`).
    public var synced: Bool
}

/// `fsm controller`: polls a `ClusterSource` (a manifest directory by default), keeps one `MeshController` up to date, and
/// serves each proxy its `ProxyConfig` over HTTP with its version:
///
/// - `GET /v1/configs/<namespace>/<pod>` → the config JSON, header `x-fsm-config-version`;
///   with `?version=V&wait=30s` the answer waits until the version differs from V (200) or the
///   wait ends (304). 404 for a pod that is not meshed.
/// - `GET /v1/pods` (meshed pods with address, readiness, identity and version), `GET /v1/pods/<ns>/<pod>`
///   (any pod of the source), `GET /v1/status`, `GET /healthz`.
/// - `PUT /v1/pods/<ns>/<pod>/status` with `{"ready": bool}`: the pod's readiness as the
///   kubelet's role reports it (`fsm supervise`); not-ready pods leave their services' endpoints.
/// - `POST /v1/certificates/<namespace>/<pod>` (a CSR): the pod's workload certificate, signed by
///   the mesh CA the controller runs (see `ControllerCertificateService`); `GET /v1/ca` the root.
/// - `GET /metrics`: the controller's Prometheus metrics (`fsm_cert_issued_count`, ...).
///
/// Every request but `/healthz`, `/metrics` and `/v1/ca` needs a credential (`ControllerAccess`):
/// a pod's own for its config, certificate and pod entry, the operator's for the rest. Refusals
/// are answered 401/403, counted in `fsm_api_refused_count{reason}` and logged once per cause.
///
/// Everything runs on one event loop: the controller, the cluster source and every connection.
public final class ControllerServer: @unchecked Sendable {
    public static let versionHeader = "x-fsm-config-version"

    public let settings: ControllerSettings
    let logger: Logger
    let eventLoop: any EventLoop
    private let group: MultiThreadedEventLoopGroup
    private var channel: (any Channel)?
    private var operationsChannel: (any Channel)?
    private var pollTask: RepeatedTask?
    /// Set while a wake-up rescan is queued on the loop (the source's `onChanges` may fire for every event).
    private let wakeQueued = NIOLockedValueBox(false)
    let stopLock = NIOLock()
    var stopped = false

    // Loop-confined state.
    private(set) var controller: MeshController
    private var source: any ClusterSource
    /// Every pod the source reported (meshed or not), for `/v1/pods/<ns>/<pod>`.
    private var pods: [PodKey: Pod] = [:]
    /// Config JSON by version, dropped whenever the configs change.
    private var renderedByVersion: [String: String] = [:]
    private var waiters: [UInt64: ConfigWaiter] = [:]
    private var nextWaiter: UInt64 = 1
    private var reportedDiagnostics = Set<ControllerDiagnostic>()
    private var errorCodes: ErrorCodeCounter
    /// The guides' `fsm_proxy_*`, `fsm_k8s_api_event_count`, `fsm_http_response_*`, ... (loop-confined).
    let controlPlaneMetrics: ControllerMetrics
    private var certificates: ControllerCertificateService
    /// The controller's metrics (`GET /metrics`).
    public let metricsRegistry: PrometheusCollectorRegistry
    /// The mesh root CA certificate (PEM) the controller signs with.
    public let rootCertificatePEM: String
    /// Mints and verifies the credentials this controller accepts (in-process issuers and tests).
    public let credentials: CredentialAuthority
    private let access: ControllerAccess
    private var refusals: APIRefusalLog
    /// The CA AccessCerts' certificates come from (`ControllerServer+AccessCerts.swift`).
    let authority: MeshCertificateAuthority
    var accessCertIssuer = AccessCertIssuer<Date>()
    /// The last snapshot handed to `settings.gatewayProvisioner`.
    var provisionedGateways: GatewaySnapshot?

    /// The address actually bound (the port resolved when 0 was asked for).
    public private(set) var address: NIOCore.SocketAddress?

    private init(source: any ClusterSource, settings: ControllerSettings, logger: Logger, group: MultiThreadedEventLoopGroup,
                 authority: MeshCertificateAuthority, credentials: CredentialAuthority) {
        self.settings = settings
        self.logger = logger
        self.group = group
        self.eventLoop = group.next()
        self.controller = MeshController(meshName: settings.meshName, controlPlaneNamespace: settings.controlPlaneNamespace)
        self.source = source
        let registry = PrometheusCollectorRegistry()
        self.metricsRegistry = registry
        self.rootCertificatePEM = authority.certificatePEM
        self.authority = authority
        self.certificates = ControllerCertificateService(authority: authority, verifyPodAddress: settings.verifyPodAddress, registry: registry)
        self.credentials = credentials
        self.access = ControllerAccess(credentials: credentials)
        self.refusals = APIRefusalLog(registry: registry)
        self.errorCodes = ErrorCodeCounter(registry: registry)
        self.controlPlaneMetrics = ControllerMetrics(registry: registry)
    }

    /// Reads the manifest directory (`settings` give the address plan and mesh namespaces), then
    /// listens. Bad manifest files do not stop the start (they are reported and counted); a port
    /// that cannot be bound does.
    public static func start(manifests: String, settings: ControllerSettings = ControllerSettings(), logger: Logger = Logger(label: "fsm.controller")) async throws -> ControllerServer {
        let source = ManifestClusterSource(path: manifests, plan: settings.addressPlan, meshNamespaces: settings.meshNamespaces, meshName: settings.meshName)
        return try await start(source: source, settings: settings, logger: logger, describing: manifests)
    }

    /// Polls `source` once, then listens.
    public static func start(source: any ClusterSource, settings: ControllerSettings = ControllerSettings(), logger: Logger = Logger(label: "fsm.controller"),
                             describing name: String = "custom source") async throws -> ControllerServer {
        let authority: MeshCertificateAuthority
        if let given = settings.certificateAuthority {
            authority = given
        } else {
            authority = try MeshCertificateAuthority.ephemeral(now: Date())
            logger.notice("no CA given: created a new mesh root for this run", metadata: ["subject": "\(authority.certificate.subject)"])
        }
        let credentials: CredentialAuthority
        if let given = settings.credentials {
            credentials = given
        } else {
            credentials = try CredentialAuthority.ephemeral()
            logger.notice("no credential key given: credentials minted for this run only")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = ControllerServer(source: source, settings: settings, logger: logger, group: group, authority: authority, credentials: credentials)
        let loop = server.eventLoop
        do {
            try await loop.submit {
                server.source.onChanges { [weak server] in server?.wake() }
                server.rescan()
            }.get()
            let channel = try await server.listen(host: settings.host, port: settings.port, operationsOnly: false)
            var operationsChannel: (any Channel)?
            if let operations = settings.operations {
                operationsChannel = try await server.listen(host: operations.host, port: operations.port, operationsOnly: true)
            }
            try await loop.submit { [operationsChannel] in
                server.channel = channel
                server.operationsChannel = operationsChannel
                server.address = channel.localAddress
                server.pollTask = loop.scheduleRepeatedTask(initialDelay: settings.pollInterval, delay: settings.pollInterval) { _ in
                    server.rescan()
                }
            }.get()
        } catch {
            // Stopped before the loop goes: a source still delivering (a Kubernetes informer is
            // stopped only after this throws) must not schedule on a loop that is gone.
            server.stopLock.withLock { server.stopped = true }
            try? await group.shutdownGracefully()
            throw error
        }
        logger.info("controller started", metadata: ["listen": "\(server.address.map { "\($0)" } ?? "?")", "source": "\(name)"])
        return server
    }

    private func listen(host: String, port: Int, operationsOnly: Bool) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ControllerHTTPHandler(server: self, operationsOnly: operationsOnly))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    /// The operations listener's address (`settings.operations`, the port resolved when 0 was asked for).
    public var operationsAddress: NIOCore.SocketAddress? { operationsChannel?.localAddress }

    /// The source has changes waiting: rescan on the loop soon (one queued rescan at a time).
    private func wake() {
        let queue = wakeQueued.withLockedValue { queued in
            defer { queued = true }
            return !queued
        }
        guard queue else { return }
        // Under the stop lock: a source still delivering while the server shuts down (a Kubernetes
        // informer stops after it) must not schedule on a loop that is gone; once `stopped` is set
        // no task is added, and the ones added before run before the loop shuts down.
        stopLock.withLock {
            guard !stopped else { return }
            eventLoop.execute { [self] in
                wakeQueued.withLockedValue { $0 = false }
                rescan()
            }
        }
    }

    /// Polls the cluster source now instead of at the next tick.
    public func rescanNow() async throws {
        try await eventLoop.submit { self.rescan() }.get()
    }

    public func status() async throws -> ControllerStatus {
        try await eventLoop.submit { self.currentStatus() }.get()
    }

    /// Stops listening and closes every connection (held long polls included).
    public func shutdown() async {
        let first = stopLock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? await eventLoop.submit {
            self.pollTask?.cancel()
            for waiter in self.waiters.values { waiter.timeout.cancel() }
            self.waiters.removeAll()
        }.get()
        try? await channel?.close()
        try? await operationsChannel?.close()
        try? await group.shutdownGracefully()
        logger.info("controller stopped")
    }

    /// Blocks until the listener closes (the `fsm controller` main loop).
    public func waitUntilClosed() async {
        try? await channel?.closeFuture.get()
    }

    // MARK: Cluster source

    private func rescan() {
        eventLoop.preconditionInEventLoop()
        let result = source.poll()
        for problem in result.newProblems {
            logger.error("cluster source problem; the last good resources stay in force", metadata: ["problem": "\(problem)"])
        }
        apply(result.changes, cause: "manifests applied")
        reconcileAccessCerts(synced: source.isSynced)
        reconcileGateways(synced: source.isSynced)
    }

    /// Feeds changes to the MeshController and wakes the long polls whose config changed.
    private func apply(_ changes: [ResourceChange], cause: Logger.Message) {
        guard !changes.isEmpty else { return }
        for change in changes {
            switch change {
            case .upsert(.pod(let pod)): pods[PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)] = pod
            case .delete(let key) where key.kind == .pod: pods[PodKey(namespace: key.namespace, name: key.name)] = nil
            default: break
            }
        }
        let started = NIODeadline.now()
        let update = controller.apply(changes)
        controlPlaneMetrics.applied(changes, nanoseconds: Int64(clamping: NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds),
                                    configsChanged: !update.changed.isEmpty || !update.removed.isEmpty, featureFlags: controller.meshConfig.featureFlags)
        renderedByVersion.removeAll()
        for diagnostic in controller.diagnostics where !reportedDiagnostics.contains(diagnostic) {
            reportedDiagnostics.insert(diagnostic)
            errorCodes.count(diagnostic.code)
            logger.warning("problem in the mesh's resources", metadata: ["error_code": "\(diagnostic.code)", "problem": "\(diagnostic.text)"])
        }
        logger.info(cause, metadata: [
            "resource_changes": "\(changes.count)", "configs_changed": "\(update.changed.count)", "proxies_removed": "\(update.removed.count)",
        ])
        wakeWaiters()
    }

    private func currentStatus() -> ControllerStatus {
        ControllerStatus(manifestErrors: source.problems, failedReads: source.failedReads, diagnostics: controller.diagnostics.map(\.description),
                         meshedPods: controller.meshedPods, waitingProxies: waiters.count, synced: source.isSynced)
    }

    // MARK: Requests

    /// What a request gets: an answer now, or a long poll.
    enum Outcome {
        case respond(ControllerResponse)
        case hold(pod: PodKey, knownVersion: String, wait: TimeAmount)
    }

    func route(_ head: HTTPRequestHead, body: String = "", remoteIP: String? = nil, operationsOnly: Bool = false) -> Outcome {
        eventLoop.preconditionInEventLoop()
        let (path, query) = ControllerServer.splitURI(head.uri)
        let resource: ControllerResource
        switch ControllerResource.parse(method: head.method, path: path) {
        case .unknownPath: return .respond(.text(.notFound, "unknown path\n"))
        case .wrongMethod(let allowed): return .respond(.text(.methodNotAllowed, "only \(allowed.rawValue)\n"))
        case .resource(let parsed): resource = parsed
        }
        if operationsOnly, ![.health, .alive, .ready, .metrics].contains(resource) {
            return .respond(.text(.notFound, "unknown path\n"))
        }
        let authorization = head.headers[canonicalForm: "authorization"].map(String.init)
        let decision = access.decide(resource, authorization: authorization) { [pods] in pods[$0]?.metadata.labels[CredentialSubject.proxyUUIDLabel] }
        if case .refused(let refusal) = decision {
            return .respond(refuse(refusal, resource: resource, remoteIP: remoteIP))
        }
        return serve(resource, query: query, body: body, remoteIP: remoteIP)
    }

    /// Answers a request that passed `ControllerAccess`.
    private func serve(_ resource: ControllerResource, query: [String: String], body: String, remoteIP: String?) -> Outcome {
        switch resource {
        case .health:
            return .respond(.text(.ok, "ok\n"))
        case .alive:
            // The guides' exact answer (16 bytes).
            return .respond(ControllerResponse(status: .ok, contentType: "text/plain; charset=utf-8", body: "Service is alive", version: nil))
        case .ready:
            guard source.isSynced else {
                return .respond(ControllerResponse(status: .serviceUnavailable, contentType: "text/plain; charset=utf-8", body: "Service is not ready", version: nil))
            }
            return .respond(ControllerResponse(status: .ok, contentType: "text/plain; charset=utf-8", body: "Service is ready", version: nil))
        case .metrics:
            controlPlaneMetrics.proxiesConnected(Set(waiters.values.map(\.pod)).count)
            return .respond(ControllerResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                               body: metricsRegistry.emitToString(), version: nil))
        case .rootCertificate:
            return .respond(ControllerResponse(status: .ok, contentType: "application/x-pem-file", body: rootCertificatePEM, version: nil))
        case .podList:
            return .respond(.json(.ok, .array(controller.meshedPods.map { podJSON($0) })))
        case .status:
            return .respond(.json(.ok, statusJSON()))
        case .pod(let pod):
            guard pods[pod] != nil else { return .respond(.text(.notFound, "no pod \(pod)\n")) }
            return .respond(.json(.ok, podJSON(pod)))
        case .config(let pod):
            return config(for: pod, query: query)
        case .certificate(let pod):
            return .respond(issueCertificate(pod: pod, requestPEM: body, remoteIP: remoteIP))
        case .podStatus(let pod):
            return .respond(reportStatus(pod: pod, body: body))
        case .gatewayConfig(let namespace, let name):
            return .respond(gatewayConfig(namespace: namespace, name: name, query: query))
        }
    }

    /// `GET /v1/gateways/<ns>/<gateway>[?version=V]`: the Gateway's config as JSON (304 when the
    /// caller has the version), 404 when the controller has none for it.
    private func gatewayConfig(namespace: String, name: String, query: [String: String]) -> ControllerResponse {
        guard let config = controller.gatewayConfig(for: "\(namespace)/\(name)") else {
            return .text(.notFound, "no gateway config for \(namespace)/\(name)\n")
        }
        if query["version"] == config.version { return .notModified(version: config.version) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(config) else {
            return .text(.internalServerError, "the config of gateway \(namespace)/\(name) could not be encoded\n")
        }
        return ControllerResponse(status: .ok, contentType: "application/json", body: String(decoding: data, as: UTF8.self) + "\n", version: config.version)
    }

    /// `GET /v1/configs/<ns>/<pod>[?version=V&wait=D]`: the config now, or a long poll.
    private func config(for pod: PodKey, query: [String: String]) -> Outcome {
        var wait = TimeAmount.zero
        if let text = query["wait"] {
            guard let duration = MeshDuration(parsing: text) else {
                return .respond(.text(.badRequest, "wait: expected a duration such as 30s, found \(text)\n"))
            }
            wait = min(.nanoseconds(duration.nanoseconds), settings.maxWait)
        }
        guard let config = controller.config(for: pod) else { return .respond(.text(.notFound, "pod \(pod) is not meshed\n")) }
        controlPlaneMetrics.configRequested(uuid: proxyUUID(pod), identity: config.serviceIdentity)
        if let known = query["version"], known == config.version {
            guard wait > .zero else { return .respond(.notModified(version: known)) }
            guard waiters.count < settings.maxWaiters else {
                controlPlaneMetrics.pollRefused()
                return .respond(.text(.serviceUnavailable, "too many long polls held; retry later\n"))
            }
            return .hold(pod: pod, knownVersion: known, wait: wait)
        }
        controlPlaneMetrics.configSent(uuid: proxyUUID(pod), identity: config.serviceIdentity)
        return .respond(configResponse(config, pod: pod))
    }

    /// The pod's proxy uuid as the metrics label it: its `fsm-proxy-uuid` label, else `<ns>/<pod>`.
    private func proxyUUID(_ pod: PodKey) -> String {
        pods[pod]?.metadata.labels[CredentialSubject.proxyUUIDLabel] ?? pod.description
    }

    private func statusJSON() -> JSONValue {
        let status = currentStatus()
        return .object([
            ("manifestErrors", .array(status.manifestErrors.map(JSONValue.string))),
            ("failedReads", .int(status.failedReads)),
            ("diagnostics", .array(status.diagnostics.map(JSONValue.string))),
            ("meshedPods", .int(status.meshedPods.count)),
            ("waitingProxies", .int(status.waitingProxies)),
            ("synced", .bool(status.synced)),
        ])
    }

    /// Counts a refused request, logs its cause the first time, and answers it (nothing of the resource).
    private func refuse(_ refusal: ControllerAccess.Refusal, resource: ControllerResource, remoteIP: String?) -> ControllerResponse {
        if let code = refusal.reason.errorCode { errorCodes.count(code) }
        if refusals.record(refusal, resource: resource) {
            var metadata: Logger.Metadata = [
                "reason": "\(refusal.reason.rawValue)", "resource": "\(resource)", "caller": "\(refusal.subject.map { "\($0)" } ?? "-")",
                "remote": "\(remoteIP ?? "?")", "detail": "\(refusal.message)",
            ]
            if let code = refusal.reason.errorCode { metadata["error_code"] = "\(code)" }
            logger.warning("API request refused", metadata: metadata)
        }
        var response = ControllerResponse.text(refusal.reason.status, refusal.message + "\n")
        if refusal.reason.status == .unauthorized {
            response.headers.append(("www-authenticate", ControllerAccess.challenge(for: refusal.reason)))
        }
        return response
    }

    private func issueCertificate(pod key: PodKey, requestPEM: String, remoteIP: String?) -> ControllerResponse {
        let facts = controller.config(for: key).map { ControllerCertificateService.PodFacts(identity: $0.serviceIdentity, podIP: pods[key]?.podIP) }
        let validity = controller.meshConfig.certificate.serviceCertValidityDuration
        let (response, refusal) = certificates.answer(requestPEM: requestPEM, pod: key, facts: facts, remoteIP: remoteIP, now: Date(), validity: validity)
        if let refusal {
            logger.warning("certificate request refused", metadata: ["pod": "\(key)", "reason": "\(refusal)", "remote": "\(remoteIP ?? "?")"])
        } else {
            logger.info("certificate issued", metadata: ["pod": "\(key)", "identity": "\(facts?.identity ?? "")", "validity": "\(validity)"])
        }
        return response
    }

    /// `PUT /v1/pods/<ns>/<pod>/status`: the kubelet's role (`fsm supervise`) reports whether
    /// the pod is ready; a not-ready pod leaves its services' endpoints until it is ready again.
    private func reportStatus(pod key: PodKey, body: String) -> ControllerResponse {
        let ready: Bool
        switch PodStatusReport.parse(body) {
        case .success(let report): ready = report.ready
        case .failure(let problem): return .text(.badRequest, "\(problem)\n")
        }
        guard let changes = source.setPodReady(key, ready: ready) else {
            return .text(.notFound, "no pod \(key) whose status this controller keeps\n")
        }
        if !changes.isEmpty { logger.notice("pod readiness changed", metadata: ["pod": "\(key)", "ready": "\(ready)"]) }
        apply(changes, cause: "pod status applied")
        return .json(.ok, podJSON(key))
    }

    private func podJSON(_ key: PodKey) -> JSONValue {
        let pod = pods[key]
        let config = controller.config(for: key)
        return .object([
            ("namespace", .string(key.namespace)),
            ("name", .string(key.name)),
            ("ip", pod?.podIP.map(JSONValue.string) ?? .null),
            ("serviceAccount", .string(pod?.spec.serviceAccountName ?? "")),
            ("ready", .bool(pod?.isReady ?? false)),
            ("meshed", .bool(config != nil)),
            ("identity", config.map { .string($0.serviceIdentity) } ?? .null),
            ("version", config.map { .string($0.version) } ?? .null),
        ])
    }

    /// The config of `pod`'s proxy group (rendered once per version) with the pod's workload
    /// (`Spec.Workload`, from `ProxyWorkload(pod:)`) spliced in.
    private func configResponse(_ config: ProxyConfig, pod: PodKey) -> ControllerResponse {
        var json: String
        if let cached = renderedByVersion[config.version] {
            json = cached
        } else {
            json = config.renderedJSON(pretty: false)
            renderedByVersion[config.version] = json
        }
        if config.spec.workload == nil, let known = pods[pod], let stamped = ProxyWorkload(pod: known).spliced(into: json) { json = stamped }
        return ControllerResponse(status: .ok, contentType: "application/json", body: json + "\n", version: config.version)
    }

    /// Counts one answer of the API in `fsm_http_response_total` / `_duration`, by route.
    func recordResponse(_ status: HTTPResponseStatus, to head: HTTPRequestHead, since started: NIODeadline) {
        let path: String
        switch ControllerResource.parse(method: head.method, path: ControllerServer.splitURI(head.uri).path) {
        case .resource(let resource): path = resource.metricPath
        case .unknownPath, .wrongMethod: path = "unknown"
        }
        controlPlaneMetrics.responded(status: status, method: head.method, path: path,
                                      nanoseconds: Int64(clamping: NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds))
    }

    /// Holds a long poll; `answer` runs once, on the loop, when the version changes or the wait ends.
    func hold(pod: PodKey, knownVersion: String, wait: TimeAmount, answer: @escaping (ControllerResponse) -> Void) -> UInt64 {
        eventLoop.preconditionInEventLoop()
        let id = nextWaiter
        nextWaiter += 1
        let timeout = eventLoop.scheduleTask(in: wait) { [self] in
            guard let waiter = waiters.removeValue(forKey: id) else { return }
            waiter.answer(.notModified(version: waiter.knownVersion))
        }
        waiters[id] = ConfigWaiter(pod: pod, knownVersion: knownVersion, answer: answer, timeout: timeout)
        return id
    }

    /// The connection of a held long poll closed.
    func cancelWaiter(_ id: UInt64) {
        eventLoop.preconditionInEventLoop()
        waiters.removeValue(forKey: id)?.timeout.cancel()
    }

    private func wakeWaiters() {
        for (id, waiter) in waiters {
            let config = controller.config(for: waiter.pod)
            guard config?.version != waiter.knownVersion else { continue }
            waiters[id] = nil
            waiter.timeout.cancel()
            if let config { controlPlaneMetrics.configSent(uuid: proxyUUID(waiter.pod), identity: config.serviceIdentity) }
            waiter.answer(config.map { configResponse($0, pod: waiter.pod) } ?? .text(.notFound, "pod \(waiter.pod) is not meshed any more\n"))
        }
    }

    /// `/a/b?x=1&y=2` → (`/a/b`, [x: 1, y: 2]).
    static func splitURI(_ uri: String) -> (path: Substring, query: [String: String]) {
        URIQuery.split(uri)
    }
}

/// The body of `PUT /v1/pods/<ns>/<pod>/status`: `{"ready": true}` or `{"ready": false}`.
struct PodStatusReport: Equatable {
    var ready: Bool

    /// The report, or a one-line problem naming the field and what was expected.
    static func parse(_ body: String) -> Result<PodStatusReport, PodStatusProblem> {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: body)
        } catch {
            return .failure(PodStatusProblem(text: "body: \(error); expected {\"ready\": true|false}"))
        }
        guard case .object(let pairs) = value else { return .failure(PodStatusProblem(text: "body: expected a JSON object {\"ready\": true|false}")) }
        if let unknown = pairs.first(where: { $0.0 != "ready" }) {
            return .failure(PodStatusProblem(text: "body.\(unknown.0): unknown field; expected only \"ready\""))
        }
        guard case .bool(let ready)? = value["ready"] else { return .failure(PodStatusProblem(text: "body.ready: expected true or false")) }
        return .success(PodStatusReport(ready: ready))
    }
}

struct PodStatusProblem: Error, Equatable, CustomStringConvertible {
    var text: String
    var description: String { text }
}

struct ConfigWaiter {
    var pod: PodKey
    var knownVersion: String
    var answer: (ControllerResponse) -> Void
    var timeout: Scheduled<Void>
}

/// One answer of the controller's HTTP API.
struct ControllerResponse {
    var status: HTTPResponseStatus
    var contentType: String
    var body: String
    /// Sent as `x-fsm-config-version`.
    var version: String?
    /// Further headers (`www-authenticate`).
    var headers: [(name: String, value: String)] = []

    static func text(_ status: HTTPResponseStatus, _ body: String) -> ControllerResponse {
        ControllerResponse(status: status, contentType: "text/plain", body: body, version: nil)
    }

    static func json(_ status: HTTPResponseStatus, _ value: JSONValue) -> ControllerResponse {
        ControllerResponse(status: status, contentType: "application/json", body: value.rendered(pretty: true) + "\n", version: nil)
    }

    static func notModified(version: String) -> ControllerResponse {
        ControllerResponse(status: .notModified, contentType: "text/plain", body: "", version: version)
    }
}

/// One connection to the controller's API; at most one request in progress (a held long poll
/// answers before the next request is read).
final class ControllerHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Request bodies (certificate requests) larger than this are refused.
    static let maxBody = 64 * 1024

    private let server: ControllerServer
    /// On the operations listener: only health and metrics.
    private let operationsOnly: Bool
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    private var waiter: UInt64?

    init(server: ControllerServer, operationsOnly: Bool = false) {
        self.server = server
        self.operationsOnly = operationsOnly
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
            bodyTooLarge = false
        case .body(let part):
            guard !bodyTooLarge else { return }
            if body.count + part.readableBytes > ControllerHTTPHandler.maxBody {
                bodyTooLarge = true
                body.removeAll()
            } else {
                body.append(contentsOf: part.readableBytesView)
            }
        case .end:
            guard let head, waiter == nil else { return }
            self.head = nil
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            if bodyTooLarge {
                ControllerHTTPHandler.write(.text(.payloadTooLarge, "request body over \(ControllerHTTPHandler.maxBody) bytes\n"), keepAlive: false, on: channel)
                return
            }
            let text = String(decoding: body, as: UTF8.self)
            body.removeAll(keepingCapacity: true)
            let started = NIODeadline.now()
            let server = self.server
            func answer(_ response: ControllerResponse) {
                server.recordResponse(response.status, to: head, since: started)
                ControllerHTTPHandler.write(response, keepAlive: keepAlive, on: channel)
            }
            switch server.route(head, body: text, remoteIP: channel.remoteAddress?.ipAddress, operationsOnly: operationsOnly) {
            case .respond(let response):
                answer(response)
            case .hold(let pod, let known, let wait):
                waiter = server.hold(pod: pod, knownVersion: known, wait: wait) { [weak self] response in
                    self?.waiter = nil
                    answer(response)
                }
            }
        }
    }

    static func write(_ response: ControllerResponse, keepAlive: Bool, on channel: any Channel) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.utf8.count))
        if let version = response.version { headers.add(name: ControllerServer.versionHeader, value: version) }
        for header in response.headers { headers.add(name: header.name, value: header.value) }
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)), promise: nil)
        if !response.body.isEmpty {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: response.body))), promise: nil)
        }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let waiter {
            server.cancelWaiter(waiter)
            self.waiter = nil
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
