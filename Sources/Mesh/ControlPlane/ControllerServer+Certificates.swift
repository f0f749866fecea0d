import CoreMetrics
import Foundation
import MeshControl
import MeshIdentity
import MeshModel
import NIOCore
import NIOHTTP1
import Prometheus
import X509

/// The controller's certificate service: it runs the mesh CA and signs workload certificates.
///
/// `POST /v1/certificates/<namespace>/<pod>` with a PKCS#10 request (PEM) signed by the workload's
/// own key. The controller issues a certificate for the pod's service-account identity
/// (`sa.namespace.cluster.local`, from the pod manifest), valid for the MeshConfig's
/// `spec.certificate.serviceCertValidityDuration` (24h by default), and answers JSON
/// `{"identity", "certificate", "ca", "notBefore", "notAfter"}` (PEM; times in seconds since 1970).
///
/// Refused (counted in `fsm_cert_refused_count{reason}`): a malformed request or a bad signature
/// (400), a pod that is unknown or not meshed (404), a request naming another identity than the
/// pod's (403), and, when `verifyPodAddress` is on, a request that does not come from the pod's
/// own address (403) — in local mode every pod has its own 127.x address, which is what stops one
/// pod from asking for another pod's certificate.
/// Issued certificates are counted in `fsm_cert_issued_count` and timed in `fsm_cert_issued_time`.
struct ControllerCertificateService {
    let authority: MeshCertificateAuthority
    let verifyPodAddress: Bool
    private let issued: CoreMetrics.Counter
    private let issueTime: CoreMetrics.Timer
    private let factory: PrometheusMetricsFactory
    private var refusals: [String: CoreMetrics.Counter] = [:]
    private var generator = SystemRandomNumberGenerator()

    init(authority: MeshCertificateAuthority, verifyPodAddress: Bool, registry: PrometheusCollectorRegistry) {
        self.authority = authority
        self.verifyPodAddress = verifyPodAddress
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["fsm_cert_issued_time"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        self.factory = factory
        issued = CoreMetrics.Counter(label: "fsm_cert_issued_count", dimensions: [], factory: factory)
        issueTime = CoreMetrics.Timer(label: "fsm_cert_issued_time", dimensions: [], factory: factory)
        for reason in ["bad_request", "unknown_pod", "foreign_identity", "wrong_address", "signing_failed"] {
            refusals[reason] = CoreMetrics.Counter(label: "fsm_cert_refused_count", dimensions: [("reason", reason)], factory: factory)
        }
    }

    /// The pod as the controller knows it: its identity (from its config) and its address.
    struct PodFacts {
        var identity: String
        var podIP: String?
    }

    /// Answers one certificate request. `pod` is nil when the pod is unknown or not meshed.
    mutating func answer(requestPEM: String, pod key: PodKey, facts: PodFacts?, remoteIP: String?, now: Date,
                         validity: MeshDuration) -> (ControllerResponse, refusal: String?) {
        let started = NIODeadline.now()
        guard let facts else {
            return refuse("unknown_pod", .notFound, "pod \(key) is not meshed\n")
        }
        if verifyPodAddress {
            guard let podIP = facts.podIP, let remoteIP, remoteIP == podIP else {
                return refuse("wrong_address", .forbidden,
                              "certificates for \(key) are issued to its own address \(facts.podIP ?? "(none known)") only, not to \(remoteIP ?? "?")\n")
            }
        }
        let request: MeshCertificateRequest
        do {
            request = try MeshCertificateRequest(pem: requestPEM)
        } catch {
            return refuse("bad_request", .badRequest, "\(error)\n")
        }
        let identity: ServiceIdentity
        do {
            identity = try ServiceIdentity(parsing: facts.identity)
        } catch {
            return refuse("signing_failed", .internalServerError, "the pod's identity is unusable: \(error)\n")
        }
        if let requested = request.requestedIdentity, requested != identity.dnsName {
            return refuse("foreign_identity", .forbidden, "pod \(key) runs as \(identity.dnsName) and cannot get a certificate for \(requested)\n")
        }
        let certificate: Certificate
        do {
            certificate = try authority.issueCertificate(for: identity, now: now, validity: validity, publicKey: request.publicKey,
                                                         serialNumber: KeyGeneration.serialNumber(using: &generator))
        } catch {
            return refuse("signing_failed", .internalServerError, "\(error)\n")
        }
        issued.increment()
        issueTime.recordNanoseconds(Int64(clamping: NIODeadline.now().uptimeNanoseconds &- started.uptimeNanoseconds))
        let body = JSONValue.object([
            ("identity", .string(identity.dnsName)),
            ("certificate", .string(PEMCoding.pem(certificate))),
            ("ca", .string(authority.certificatePEM)),
            ("notBefore", .int(Int64(certificate.notValidBefore.timeIntervalSince1970))),
            ("notAfter", .int(Int64(certificate.notValidAfter.timeIntervalSince1970))),
        ])
        return (.json(.ok, body), nil)
    }

    private func refuse(_ reason: String, _ status: HTTPResponseStatus, _ message: String) -> (ControllerResponse, refusal: String?) {
        refusals[reason]?.increment()
        return (.text(status, message), reason)
    }
}

extension MeshCertificateAuthority {
    /// A new root for a controller that was given none (its certificates live as long as the process).
    static func ephemeral(now: Date) throws(IdentityError) -> MeshCertificateAuthority {
        var generator = SystemRandomNumberGenerator()
        return try createRoot(now: now, using: &generator)
    }
}

extension CredentialAuthority {
    /// A key for a controller that was given none (its credentials verify as long as the process lives).
    static func ephemeral() throws(CredentialError) -> CredentialAuthority {
        var generator = SystemRandomNumberGenerator()
        return try CredentialAuthority(keyBytes: generateKey(using: &generator))
    }
}
