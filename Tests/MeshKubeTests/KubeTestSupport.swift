import Foundation
import Logging
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshTesting
import NIOCore
import Testing

/// Loopback addresses of this target: 127.93.<suite>.<n>, so that its suites collide with nobody's.
enum KubeTestNet {
    static func host(_ suite: Int, _ n: Int = 1) -> String { "127.93.\(suite).\(n)" }
}

/// A logger that stays quiet unless a test fails loudly.
func quietLogger(_ label: String = "test.kube") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}

/// The bookstore as the API serves it (Fixtures/bookstore.json, see scripts/make-kube-fixtures.py).
func bookstoreFixture() throws -> JSONValue {
    guard let url = Bundle.module.url(forResource: "bookstore", withExtension: "json", subdirectory: "Fixtures") else {
        throw KubeFixtureError(description: "Fixtures/bookstore.json is not in the test bundle")
    }
    return try JSONValue(parsing: String(decoding: try Data(contentsOf: url), as: UTF8.self))
}

/// Runs `body` with a double on 127.93.<suite>.1 and a client of it; both are shut down after.
func withDouble(suite: Int, settings: KubeAPIDouble.Settings? = nil, credentials: KubeCredentials = .none,
                _ body: (KubeAPIDouble, KubeClient) async throws -> Void) async throws {
    var doubleSettings = settings ?? KubeAPIDouble.Settings()
    doubleSettings.host = KubeTestNet.host(suite)
    let double = try await KubeAPIDouble.start(doubleSettings)
    let client: KubeClient
    do {
        client = try KubeClient(connection: KubeConnection(server: double.url, credentials: credentials), requestTimeout: .seconds(5), logger: quietLogger())
    } catch {
        await double.shutdown()
        throw error
    }
    do {
        try await body(double, client)
    } catch {
        Issue.record(error)
    }
    await client.shutdown()
    await double.shutdown()
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Informer settings for tests: short backoffs, no jitter surprises.
let fastInformers = Informer.Settings(backoff: ReconnectBackoff(initial: .milliseconds(20), maximum: .milliseconds(200), jitter: 0.5),
                                      minWatchTimeout: .seconds(300), resyncPeriod: nil, pageSize: 3)

/// A pod object as the API returns it.
func apiPod(_ name: String, namespace: String, ip: String, serviceAccount: String = "default", labels: [String: String] = [:]) -> JSONValue {
    .object([
        ("apiVersion", .string("v1")), ("kind", .string("Pod")),
        ("metadata", .object([("name", .string(name)), ("namespace", .string(namespace)),
                              ("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])),
        ("spec", .object([("serviceAccountName", .string(serviceAccount)),
                          ("containers", .array([.object([("name", .string("app")), ("image", .string("app:1")),
                                                           ("ports", .array([.object([("containerPort", .int(8080)), ("name", .string("web"))])]))])]))])),
        ("status", .object([("phase", .string("Running")), ("podIP", .string(ip))])),
    ])
}

/// The error `body` throws, nil when it succeeds.
func kubeError(_ body: () async throws(KubeError) -> Void) async -> KubeError? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}
