import AsyncHTTPClient
import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1

/// Where a sidecar fetches its config: the controller's address and the pod it runs for.
public struct ControllerEndpoint: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var namespace: String
    public var pod: String
    /// How long the controller may hold a long poll when nothing changes.
    public var wait: TimeAmount
    /// Retry delays after a failure: doubled from `minBackoff` up to `maxBackoff`.
    public var minBackoff: TimeAmount
    public var maxBackoff: TimeAmount
    /// The pod's credential, sent on every request; nil sends none (the controller answers 401).
    public var credential: ControllerCredential?
    /// With a cache (`--cache-dir`): how long the first config fetch and the first certificate
    /// request (both answered at once) may take before the controller counts as not answering, so
    /// that a hung controller is treated like an unreachable one and the sidecar starts from its
    /// cache instead of waiting out the usual timeouts.
    public var answerTimeout: TimeAmount

    public init(host: String, port: Int, namespace: String, pod: String, wait: TimeAmount = .seconds(30),
                minBackoff: TimeAmount = .milliseconds(100), maxBackoff: TimeAmount = .seconds(5), answerTimeout: TimeAmount = .seconds(3),
                credential: ControllerCredential? = nil) {
        self.host = host
        self.port = port
        self.namespace = namespace
        self.pod = pod
        self.wait = wait
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
        self.credential = credential
        self.answerTimeout = answerTimeout
    }

    /// `http://host:port` (a trailing `/` allowed) and `namespace/name`; nil when either is malformed.
    public init?(url: String, pod: String, credential: ControllerCredential? = nil) {
        guard url.hasPrefix("http://") else { return nil }
        var rest = url.dropFirst(7)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port),
              !rest[..<colon].isEmpty, !rest.contains("/") else { return nil }
        let podParts = pod.split(separator: "/", omittingEmptySubsequences: false)
        guard podParts.count == 2, !podParts[0].isEmpty, !podParts[1].isEmpty else { return nil }
        self.init(host: String(rest[..<colon]), port: port, namespace: String(podParts[0]), pod: String(podParts[1]), credential: credential)
    }

    public var description: String { "http://\(host):\(port) for \(namespace)/\(pod)" }

    var configPath: String { "/v1/configs/\(namespace)/\(pod)" }
}

/// Keeps a sidecar's config in step with the controller: long-polls
/// `GET /v1/configs/<ns>/<pod>?version=<current>&wait=<wait>` (with the pod's credential) and
/// applies each new config.
/// An unreachable controller or an error answer counts `runtime.config_fetch_failed`; a body that
/// does not decode, or a config the engine rejects, counts `runtime.config_rejected`. Either way
/// the last good config stays and the next try waits (doubling backoff). After a rejection the
/// next poll names the rejected version, so the controller holds it until something newer exists.
///
/// With a cache (`fsm sidecar --cache-dir`) every accepted config is written there; when the first
/// poll fails and no config is applied yet, the cached one is applied and marked stale
/// (`SidecarDriver.configFromCache`) until the controller's first answer replaces it.
final class ControllerConfigClient: @unchecked Sendable {
    private let endpoint: ControllerEndpoint
    private let driver: SidecarDriver
    private let cache: SidecarCache?
    private let http: HTTPClient
    /// Loop-confined.
    private var appliedVersion: String?
    private var rejectedVersion: String?
    private var cacheRejected = false
    private var stopped = false
    private var task: Task<Void, Never>?

    init(endpoint: ControllerEndpoint, driver: SidecarDriver, http: HTTPClient, cache: SidecarCache? = nil) {
        self.endpoint = endpoint
        self.driver = driver
        self.http = http
        self.cache = cache
    }

    func start() {
        task = Task { await self.run() }
    }

    /// Stops polling and waits until the poller is done: the request in flight is closed by the
    /// cancellation, so nothing touches the sidecar's loop after this returns (its loop may then
    /// shut down without leaving a task or promise behind).
    func stop() async {
        _ = try? await driver.eventLoop.submit { self.stopped = true }.get()
        task?.cancel()
        await task?.value
    }

    private enum Outcome {
        case progressed
        /// A 200 with the version already applied (a controller that ignores `version=`): poll
        /// again after the shortest backoff instead of at once, so that it is not hammered.
        case unchanged
        case failed
    }

    private func run() async {
        let loop = driver.eventLoop
        var backoff = endpoint.minBackoff
        while !Task.isCancelled {
            guard let known = try? await loop.submit({ self.stopped ? nil : (self.rejectedVersion ?? self.appliedVersion ?? "") }).get() else { return }
            var path = endpoint.configPath
            if !known.isEmpty { path += "?version=\(URIQuery.escaped(known))&wait=\(ControllerConfigClient.durationText(endpoint.wait))" }
            // Without a version the controller answers at once: with a cache to fall back on, a
            // controller that takes longer counts as not answering. A long poll may be held for `wait`.
            let timeout = known.isEmpty && cache != nil ? endpoint.answerTimeout : endpoint.wait + .seconds(10)
            let outcome: Outcome
            do {
                let response = try await MeshHTTP.request(
                    host: endpoint.host, port: endpoint.port, path: path, headers: try endpoint.authorizationHeaders(),
                    timeout: timeout, client: http)
                guard let result = try? await loop.submit({ self.stopped ? nil : self.handle(response) }).get() else { return }
                outcome = result
            } catch {
                guard let stillRunning = try? await loop.submit({ () -> Bool in
                    guard !self.stopped else { return false }
                    self.driver.count(.configFetchFailed)
                    self.driver.logger.warning("controller unreachable, keeping the last good config", metadata: [
                        "controller": "\(self.endpoint)", "error": "\(error)",
                    ])
                    self.loadCacheIfUnconfigured()
                    return true
                }).get(), stillRunning else { return }
                outcome = .failed
            }
            switch outcome {
            case .progressed:
                backoff = endpoint.minBackoff
            case .unchanged:
                backoff = endpoint.minBackoff
                do { try await Task.sleep(nanoseconds: UInt64(max(0, backoff.nanoseconds))) } catch { return }
            case .failed:
                do { try await Task.sleep(nanoseconds: UInt64(max(0, backoff.nanoseconds))) } catch { return }
                backoff = min(backoff * 2, endpoint.maxBackoff)
            }
        }
    }

    /// On the loop: one answer of the controller.
    private func handle(_ response: MeshHTTPResponse) -> Outcome {
        let version = response.header(ControllerServerProtocol.versionHeader)
        switch response.status {
        case 304:
            return .progressed
        case 200:
            if let version, version == appliedVersion, rejectedVersion == nil { return .unchanged }
            let config: ProxyConfig
            do {
                config = try ProxyConfig(jsonText: response.body)
            } catch {
                reject(version: version, reason: "\(error)")
                return .failed
            }
            switch driver.apply(config) {
            case .applied(version: let applied):
                appliedVersion = version ?? applied
                rejectedVersion = nil
                driver.count(.configReloaded)
                driver.logger.info("config applied", metadata: ["version": "\(applied)", "identity": "\(config.serviceIdentity)"])
                if driver.configFromCache {
                    driver.configFromCache = false
                    driver.logger.notice("the controller answered: the cached config is replaced", metadata: ["version": "\(applied)"])
                }
                keep(response.body, version: applied)
                return .progressed
            case .rejected(reason: let reason):
                reject(version: version, reason: reason)
                return .failed
            }
        default:
            driver.count(.configFetchFailed)
            driver.logger.warning("controller answered with an error, keeping the last good config", metadata: [
                "status": "\(response.status)", "body": "\(response.body.prefix(200))",
            ])
            return .failed
        }
    }

    /// Writes an accepted config to the cache (a failure is logged and counted, never fatal).
    private func keep(_ json: String, version: String) {
        guard let cache else { return }
        do {
            try cache.storeConfig(json)
        } catch {
            driver.count(.configCacheWriteFailed)
            driver.logger.warning("cannot cache the config", metadata: ["version": "\(version)", "error": "\(error)"])
        }
    }

    /// The controller did not answer and nothing is applied yet: serve the cached config, stale.
    private func loadCacheIfUnconfigured() {
        guard let cache, !driver.isReady else { return }
        switch cache.loadConfig() {
        case nil:
            return
        case .failure(let problem):
            // Counted and logged once: later failures do not read the cache again.
            guard !cacheRejected else { return }
            cacheRejected = true
            driver.count(.configCacheRejected)
            driver.logger.warning("cached config ignored", metadata: ["problem": "\(problem)"])
        case .success(let config):
            guard case .applied(let version) = driver.apply(config) else {
                cacheRejected = true
                driver.count(.configCacheRejected)
                driver.logger.warning("cached config rejected by the engine", metadata: ["directory": "\(cache.directory)"])
                return
            }
            driver.configFromCache = true
            driver.count(.configCacheLoaded)
            driver.logger.warning("config stale: serving the cached config until the controller answers", metadata: [
                "version": "\(version)", "directory": "\(cache.directory)",
            ])
        }
    }

    private func reject(version: String?, reason: String) {
        driver.count(.configRejected)
        // Ask for something newer than the bad version next time (the controller holds until then).
        if let version, version != appliedVersion { rejectedVersion = version }
        driver.logger.warning("config from the controller rejected, keeping the last good config", metadata: [
            "version": "\(version ?? "?")", "reason": "\(reason)",
        ])
    }

    static func durationText(_ amount: TimeAmount) -> String {
        "\(max(1, amount.nanoseconds / 1_000_000))ms"
    }
}

/// The names the controller's HTTP API and its clients share.
public enum ControllerServerProtocol {
    public static let versionHeader = "x-fsm-config-version"
}
