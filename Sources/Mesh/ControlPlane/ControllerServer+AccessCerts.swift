import Foundation
import Logging
import MeshControl
import MeshIdentity
import MeshModel
import NIOConcurrencyHelpers
import NIOCore

/// AccessCerts (demos.md 6.7): the controller's `AccessCertIssuer` decides at every rescan (a
/// change, or the poll tick that also brings renewals due); the certificate is signed here on the
/// loop and written by the `AccessCertStore` off it; the outcome comes back to the loop.
extension ControllerServer {
    /// Waits for a `synced` source: before, the MeshConfig (the feature flag) may not be read yet.
    func reconcileAccessCerts(synced: Bool) {
        eventLoop.preconditionInEventLoop()
        guard let store = settings.accessCertStore, synced else { return }
        guard store.isActive else {
            accessCertIssuer.reset()
            return
        }
        let controller = controller
        let actions = accessCertIssuer.reconcile(controller.accessCerts, enabled: controller.meshConfig.featureFlags.enableAccessCertPolicy,
                                                 now: Date(), meshIdentities: { controller.isMeshIdentity($0) })
        perform(actions, store: store)
    }

    private func perform(_ actions: [AccessCertIssuer<Date>.Action], store: any AccessCertStore) {
        for action in actions {
            switch action {
            case .issue(let request):
                issue(request, store: store)
            case .removeSecret(let secret, let owner):
                inBackground("cannot remove an AccessCert's Secret", ["secret": "\(secret)"]) { try await store.remove(secret, owner: owner) }
            case .setStatus(let key, let status):
                inBackground("cannot set an AccessCert's status", ["access_cert": "\(key.namespace)/\(key.name)"]) { try await store.setStatus(status, of: key) }
            }
        }
    }

    /// Runs a store write off the loop; a failure is logged (the next change or renewal tries again).
    private func inBackground(_ failure: Logger.Message, _ metadata: Logger.Metadata, _ write: @escaping @Sendable () async throws -> Void) {
        let logger = logger
        Task {
            do {
                try await write()
            } catch {
                logger.warning(failure, metadata: metadata.merging(["problem": "\(error)"]) { a, _ in a })
            }
        }
    }

    private func issue(_ request: AccessCertIssuer<Date>.Request, store: any AccessCertStore) {
        var generator = SystemRandomNumberGenerator()
        let certificate: ServerCertificate
        do {
            certificate = try authority.issueAccessCertificate(subjectAltNames: request.subjectAltNames, now: Date(),
                                                               validity: controller.meshConfig.certificate.serviceCertValidityDuration, using: &generator)
        } catch {
            perform(accessCertIssuer.failed(request, reason: "\(error)", retryAt: retryTime()), store: store)
            return
        }
        Task {
            do {
                try await store.write(AccessCertMaterial(certificate), to: request.secret, owner: request.key)
                onLoop { $0.perform($0.accessCertIssuer.issued(request, renewAt: certificate.renewalTime), store: store) }
            } catch {
                onLoop { $0.perform($0.accessCertIssuer.failed(request, reason: "\(error)", retryAt: $0.retryTime()), store: store) }
            }
        }
    }

    /// Runs `body` on the loop unless the server has stopped (then the outcome no longer matters).
    private func onLoop(_ body: @escaping @Sendable (ControllerServer) -> Void) {
        stopLock.withLock {
            guard !stopped else { return }
            eventLoop.execute { body(self) }
        }
    }

    private func retryTime() -> Date {
        let retry = settings.accessCertRetry.components
        return Date().addingTimeInterval(Double(retry.seconds) + Double(retry.attoseconds) / 1e18)
    }
}
