import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MeshModel
import MeshProxy
import NIOCore

/// Where a gateway gets its config: the controller's `GET /v1/gateways/<ns>/<name>`, with the
/// gateway's own credential (`fsm credential --gateway`).
public struct GatewayEndpoint: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var namespace: String
    public var name: String
    public var credential: ControllerCredential
    /// Between polls while nothing changes (the controller answers gateway polls at once, 304
    /// when the version is current).
    public var interval: TimeAmount = .seconds(1)
    /// After a failure: doubled from `interval` up to `maxBackoff`.
    public var maxBackoff: TimeAmount = .seconds(5)
    public var requestTimeout: TimeAmount = .seconds(10)

    /// `http://host:port` and `namespace/name`; nil when either is malformed.
    public init?(url: String, gateway: String, credential: ControllerCredential) {
        let parts = gateway.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              let controller = ControllerEndpoint(url: url, pod: gateway) else { return nil }
        host = controller.host
        port = controller.port
        namespace = String(parts[0])
        name = String(parts[1])
        self.credential = credential
    }

    public var description: String { "http://\(host):\(port) for gateway \(namespace)/\(name)" }
    var path: String { "/v1/gateways/\(namespace)/\(name)" }
}

/// Keeps a gateway's config in step with the controller: polls its path with `?version=` of the
/// config it has; a new version is decoded and applied (`GatewayProcess.apply`: the engine and the
/// certificates must take it, then the sockets follow). An unreachable controller or an error
/// answer counts `runtime.config_fetch_failed`; a body that does not decode or a config refused
/// counts `runtime.config_rejected`, and that version is not tried again. Either way the last good
/// config stays.
final class GatewayConfigClient: @unchecked Sendable {
    private let endpoint: GatewayEndpoint
    private let process: GatewayProcess
    private let http: HTTPClient
    private var task: Task<Void, Never>?
    /// Only the polling task touches these.
    private var appliedVersion: String?
    private var rejectedVersion: String?

    init(endpoint: GatewayEndpoint, process: GatewayProcess, http: HTTPClient) {
        self.endpoint = endpoint
        self.process = process
        self.http = http
    }

    func start() {
        task = Task { await self.run() }
    }

    func stop() async {
        task?.cancel()
        await task?.value
    }

    private func run() async {
        var delay = endpoint.interval
        while !Task.isCancelled {
            if await poll() {
                delay = endpoint.interval
            } else {
                delay = min(delay * 2, endpoint.maxBackoff)
            }
            // Sockets a config asked for that could not be bound are tried again.
            await process.reconcile()
            do { try await Task.sleep(nanoseconds: UInt64(max(0, delay.nanoseconds))) } catch { return }
        }
    }

    /// One request; false when it failed (for the backoff).
    private func poll() async -> Bool {
        let known = rejectedVersion ?? appliedVersion
        var path = endpoint.path
        if let known { path += "?version=\(URIQuery.escaped(known))" }
        let response: MeshHTTPResponse
        do {
            response = try await MeshHTTP.request(host: endpoint.host, port: endpoint.port, path: path,
                                                  headers: [("authorization", "Bearer \(try endpoint.credential.token())")],
                                                  timeout: endpoint.requestTimeout, client: http)
        } catch {
            guard !Task.isCancelled else { return true }
            await failed("controller unreachable, keeping the last good config", ["error": "\(error)"])
            return false
        }
        switch response.status {
        case 304:
            return true
        case 200:
            return await take(response)
        default:
            await failed("controller answered with an error, keeping the last good config", [
                "status": "\(response.status)", "body": "\(response.body.prefix(200))",
            ])
            return false
        }
    }

    private func take(_ response: MeshHTTPResponse) async -> Bool {
        let version = response.header(ControllerServerProtocol.versionHeader)
        let config: GatewayConfig
        do {
            config = try JSONDecoder().decode(GatewayConfig.self, from: Data(response.body.utf8))
        } catch {
            await rejected(version: version, reason: "not a gateway config: \(error)")
            return false
        }
        switch await process.apply(config) {
        case .applied(let applied):
            appliedVersion = version ?? config.version
            rejectedVersion = nil
            try? await process.onLoop { $0.sidecar.count(.configReloaded) }
            process.driver.logger.info("gateway config applied", metadata: ["version": "\(applied)", "gateway": "\(config.gateway)"])
            return true
        case .rejected(let reason):
            await rejected(version: version, reason: reason)
            return false
        }
    }

    private func rejected(version: String?, reason: String) async {
        if let version, version != appliedVersion { rejectedVersion = version }
        try? await process.onLoop { $0.sidecar.count(.configRejected) }
        process.driver.logger.warning("gateway config rejected, keeping the last good config", metadata: [
            "version": "\(version ?? "?")", "reason": "\(reason)",
        ])
    }

    private func failed(_ message: Logger.Message, _ metadata: Logger.Metadata) async {
        try? await process.onLoop { $0.sidecar.count(.configFetchFailed) }
        process.driver.logger.warning(message, metadata: metadata)
    }
}
