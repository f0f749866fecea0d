import AsyncHTTPClient
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MeshIdentity
import MeshModel
import NIOCore
import NIOHTTP1

/// Gets the sidecar's workload certificate from the controller and keeps it fresh
/// (`PeerTransport.mutualTLSFromController`).
///
/// Each request uses a new P-256 key made here (it never leaves the sidecar): a PKCS#10 request
/// signed with it goes to `POST /v1/certificates/<ns>/<pod>` from the pod's own address, with the
/// pod's credential (`ControllerEndpoint.credential`), and the
/// answer holds the certificate for the pod's service-account identity and the mesh root. The
/// certificate becomes the driver's `PeerTLS`, which new connections take; open connections keep
/// theirs (the same hot swap as a renewed certificate file). Renewal starts once a third of the
/// validity is left (`WorkloadCertificate.renewalTime`); failures are counted
/// (`runtime.cert_request_failed`) and retried with doubling backoff, never past expiry's half-way
/// of what is left.
///
/// With a cache (`fsm sidecar --cache-dir`) each certificate obtained is written there; at start,
/// when the controller does not answer the first request, a cached certificate that has not
/// expired is used (stale, `SidecarDriver.certificateFromCache`) and a fresh one is asked for at
/// once, with backoff, until the controller issues it.
final class WorkloadCertificateClient: @unchecked Sendable {
    private let endpoint: ControllerEndpoint
    private let driver: SidecarDriver
    private let http: HTTPClient
    private let cache: SidecarCache?
    private var task: Task<Void, Never>?

    init(endpoint: ControllerEndpoint, driver: SidecarDriver, http: HTTPClient, cache: SidecarCache? = nil) {
        self.endpoint = endpoint
        self.driver = driver
        self.http = http
        self.cache = cache
    }

    var path: String { "/v1/certificates/\(endpoint.namespace)/\(endpoint.pod)" }

    /// The first certificate: retried (with backoff) until `deadline`, since a sidecar without one
    /// cannot serve; throws the last problem after that.
    func obtainFirst(within deadline: Duration) async throws -> PeerTLS {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var backoff = endpoint.minBackoff
        while true {
            do {
                return try await requestCertificate()
            } catch {
                driver.eventLoop.execute { self.driver.count(.certificateRequestFailed) }
                guard clock.now < end else { throw error }
                driver.logger.info("waiting for the controller to issue the workload certificate", metadata: [
                    "controller": "\(endpoint)", "problem": "\(error)",
                ])
                try await Task.sleep(nanoseconds: UInt64(max(0, backoff.nanoseconds)))
                backoff = min(backoff * 2, endpoint.maxBackoff)
            }
        }
    }

    /// The first certificate, or the cached one when the controller does not answer the first
    /// request; `fromCache` says which.
    func obtainFirst(within deadline: Duration, now: Date) async throws -> (tls: PeerTLS, fromCache: Bool) {
        guard let cache, let cached = cache.loadCertificate(now: now) else {
            return (try await obtainFirst(within: deadline), false)
        }
        do {
            return (try await requestCertificate(timeout: endpoint.answerTimeout), false)
        } catch {
            driver.eventLoop.execute { self.driver.count(.certificateRequestFailed) }
            switch cached {
            case .success(let tls):
                driver.eventLoop.execute { self.driver.count(.configCacheLoaded) }
                driver.logger.warning("certificate stale: using the cached certificate until the controller answers", metadata: tls.logMetadata)
                return (tls, true)
            case .failure(let problem):
                driver.eventLoop.execute { self.driver.count(.configCacheRejected) }
                driver.logger.warning("cached certificate ignored", metadata: ["problem": "\(problem)"])
                return (try await obtainFirst(within: deadline), false)
            }
        }
    }

    /// Renews `current` when due (at once when it came from the cache), then the renewed one,
    /// and so on until `stop()`.
    func startRenewing(after current: PeerTLS, immediately: Bool = false) {
        task = Task { await self.renewLoop(current, immediately: immediately) }
    }

    func stop() async {
        task?.cancel()
        await task?.value
    }

    private func renewLoop(_ first: PeerTLS, immediately: Bool) async {
        var current = first
        var due = immediately
        while !Task.isCancelled {
            let wait = due ? 0 : current.workload.renewalTime.timeIntervalSinceNow
            due = false
            if wait > 0 {
                do { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) } catch { return }
            }
            var backoff = endpoint.minBackoff
            while !Task.isCancelled {
                do {
                    let renewed = try await requestCertificate()
                    guard !Task.isCancelled else { return }
                    try? await driver.eventLoop.submit {
                        self.driver.peerTLS = renewed
                        self.driver.certificateFromCache = false
                        self.driver.count(.certificateReloaded)
                        self.driver.logger.info("workload certificate renewed by the controller", metadata: renewed.logMetadata)
                    }.get()
                    current = renewed
                    break
                } catch {
                    if Task.isCancelled { return }
                    let notAfter = current.workload.notValidAfter
                    try? await driver.eventLoop.submit {
                        self.driver.count(.certificateRequestFailed)
                        self.driver.logger.warning("certificate renewal failed, keeping the current certificate", metadata: [
                            "error": "\(error)", "not_after": "\(notAfter)",
                        ])
                    }.get()
                    // Retry sooner than half of the time left, so that a renewal still lands in time.
                    let left = max(0.05, current.workload.notValidAfter.timeIntervalSinceNow / 2)
                    let delay = min(Double(backoff.nanoseconds) / 1e9, left)
                    do { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) } catch { return }
                    backoff = min(backoff * 2, endpoint.maxBackoff)
                }
            }
        }
    }

    /// One request to the controller: a new key, its CSR, the answer checked and made into TLS contexts.
    private func requestCertificate(timeout: TimeAmount = .seconds(10)) async throws -> PeerTLS {
        var generator = SystemRandomNumberGenerator()
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        let request = try MeshCertificateRequest(identity: nil, privateKey: key)
        let response = try await MeshHTTP.request(
            host: endpoint.host, port: endpoint.port, method: .POST, path: path,
            headers: [("content-type", "application/pkcs10")] + (try endpoint.authorizationHeaders()),
            body: request.pem, timeout: timeout, localAddress: driver.settings.podIP, client: http)
        guard response.status == 200 else {
            throw PeerCertificateError(description: "the controller refused the certificate request (\(response.status)): \(response.body.prefix(300))")
        }
        guard let answer = try? JSONValue(parsing: response.body), case .string(let certificate)? = answer["certificate"],
              case .string(let ca)? = answer["ca"] else {
            throw PeerCertificateError(description: "the controller's certificate answer is not the expected JSON")
        }
        let tls = try PeerTLS.make(certificatePEM: certificate, privateKeyPEM: key.pemRepresentation, caPEM: ca)
        keep(tls)
        return tls
    }

    /// Writes a new certificate to the cache (a failure is logged and counted, never fatal).
    private func keep(_ tls: PeerTLS) {
        guard let cache else { return }
        do {
            try cache.storeCertificate(tls)
        } catch {
            driver.eventLoop.execute {
                self.driver.count(.configCacheWriteFailed)
                self.driver.logger.warning("cannot cache the workload certificate", metadata: ["error": "\(error)"])
            }
        }
    }
}
