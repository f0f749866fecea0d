import Foundation
import MeshBenchKit
import MeshControl
import MeshIdentity
import MeshInject
import MeshInjector
import MeshModel
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `bench webhook [--requests N]`: the injection webhook's latency per AdmissionReview, as the API
/// server sees it (sequential reviews on one kept-alive TLS connection to an in-process
/// `InjectorServer`, the credential Secret written to memory), and the pure `AdmissionWebhook`
/// decision alone. Prints P50/P90/P99/max in microseconds.
func runWebhookBench(_ arguments: [String]) {
    var requests = 2000
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        guard flag == "--requests", let text = rest.popFirst(), let value = Int(text), value > 0 else {
            FileHandle.standardError.write(Data("usage: bench webhook [--requests N]\n".utf8))
            exit(2)
        }
        requests = value
    }
    let semaphore = DispatchSemaphore(value: 0)
    Task {
        do {
            try await WebhookBench(requests: requests).run()
        } catch {
            FileHandle.standardError.write(Data("bench webhook: \(error)\n".utf8))
            exit(1)
        }
        semaphore.signal()
    }
    semaphore.wait()
}

struct WebhookBench {
    let requests: Int

    /// A Deployment's pod with HTTP probes, as the API server sends it.
    static let review = """
    {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"bench","kind":{"group":"","version":"v1","kind":"Pod"},
    "resource":{"group":"","version":"v1","resource":"pods"},"namespace":"bookstore","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod",
    "metadata":{"generateName":"bookstore-5848999cb6-","namespace":"bookstore","labels":{"app":"bookstore","version":"v1"},
    "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"bookstore-5848999cb6","uid":"u","controller":true}]},
    "spec":{"serviceAccountName":"bookstore","volumes":[{"name":"kube-api-access","projected":{"sources":[]}}],
    "containers":[{"name":"bookstore","image":"flomesh/bookstore:latest","ports":[{"name":"web","containerPort":14001}],
    "livenessProbe":{"httpGet":{"path":"/liveness","port":14001},"timeoutSeconds":1},
    "readinessProbe":{"tcpSocket":{"port":"web"}}}]}},"dryRun":false}}
    """

    struct MemoryWrites: InjectorKubeWrites {
        func createSecret(_ secret: CredentialSecret) async throws {}
        func patchWebhookCABundle(configurationName: String, caBundlePEM: String) async throws {}
    }

    func run() async throws {
        var generator = SystemRandomNumberGenerator()
        let authority = try MeshCertificateAuthority.createRoot(now: Date(), using: &generator)
        let cluster = SharedInjectorCluster(controlPlaneNamespace: "fsm-system")
        cluster.apply([.upsert(.namespace(Namespace(metadata: ObjectMeta(name: "bookstore", labels: ["flomesh.io/monitored-by": "fsm"],
                                                                          annotations: ["flomesh.io/sidecar-injection": "enabled"]))))])
        let credentials = try CredentialAuthority(keyBytes: CredentialAuthority.generateKey(using: &generator))
        let webhook = AdmissionWebhook(injector: PodInjector(settings: InjectorSettings(), credentials: credentials))
        print(summary("decision (AdmissionWebhook.handle, in process)", measureDecision(webhook, cluster: cluster)))
        let server = try await InjectorServer.start(settings: InjectorServerSettings(host: "127.0.0.1", port: 0), webhook: webhook, cluster: cluster,
                                                    writes: MemoryWrites(), authority: authority)
        defer { Task { await server.shutdown() } }
        let port = server.localAddress?.port ?? 0
        let client = try await KeepAliveClient.connect(port: port, caPEM: authority.certificatePEM)
        var recorder = LatencyRecorder()
        for index in 0..<(requests + requests / 10) {
            let started = ContinuousClock.now
            let status = try await client.post(Self.review)
            let elapsed = ContinuousClock.now - started
            guard status == 200 else { throw BenchFailure(description: "the webhook answered \(status)") }
            // The first tenth warms the connection and the caches up.
            if index >= requests / 10 { recorder.record(nanoseconds: Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000) }
        }
        print(summary("AdmissionReview over TLS, one kept-alive connection", recorder))
        await client.close()
    }

    func measureDecision(_ webhook: AdmissionWebhook, cluster: SharedInjectorCluster) -> LatencyRecorder {
        var recorder = LatencyRecorder()
        for index in 0..<requests {
            let started = ContinuousClock.now
            let step = webhook.handle(method: "POST", path: AdmissionWebhook.mutatePodPath, contentType: "application/json", body: Self.review,
                                      cluster: cluster, proxyUUID: "00000000-0000-4000-8000-\(String(100_000_000_000 + index).suffix(12))")
            let elapsed = ContinuousClock.now - started
            if case .answer = step { continue }
            recorder.record(nanoseconds: Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return recorder
    }

    func summary(_ title: String, _ recorder: LatencyRecorder) -> String {
        "\(title): n=\(recorder.count) p50=\(recorder.percentile(50))us p90=\(recorder.percentile(90))us p99=\(recorder.percentile(99))us max=\(recorder.percentile(100))us"
    }
}

/// One TLS connection kept alive, one request at a time (what the API server does per webhook call).
final class KeepAliveClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private var channel: (any Channel)?
    private let pending = NIOLockedValueBox<EventLoopPromise<Int>?>(nil)
    private var status = 0

    static func connect(port: Int, caPEM: String) async throws -> KeepAliveClient {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        let context = try NIOSSLContext(configuration: configuration)
        let client = KeepAliveClient()
        client.channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "fsm-injector.fsm-system.svc"))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(client)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return client
    }

    func post(_ body: String) async throws -> Int {
        guard let channel else { throw BenchFailure(description: "not connected") }
        let promise = channel.eventLoop.makePromise(of: Int.self)
        pending.withLockedValue { $0 = promise }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: AdmissionWebhook.mutatePodPath)
        head.headers.add(name: "host", value: "fsm-injector.fsm-system.svc")
        head.headers.add(name: "content-type", value: "application/json")
        head.headers.add(name: "content-length", value: String(body.utf8.count))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await promise.futureResult.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end: takePending()?.succeed(status)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        takePending()?.fail(BenchFailure(description: "the webhook closed the connection"))
    }

    private func takePending() -> EventLoopPromise<Int>? {
        pending.withLockedValue { promise in
            defer { promise = nil }
            return promise
        }
    }

    func close() async {
        try? await channel?.close()
    }
}
