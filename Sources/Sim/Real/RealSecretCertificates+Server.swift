import MeshModel
import NIOSSL
import SimCore

extension RealSecretCertificates {
    /// The TLS context a `tls-echo` pod serves with: its Secret's certificate (`certificateKey`,
    /// default `tls.crt`, as real mode rewrote it) and the private key beside it, or an external
    /// host's public certificate; nil for every other app.
    func serverContext(for pod: RealPod, secrets: [String: Secret]) throws(RealModeError) -> NIOSSLContext? {
        guard pod.app.model == .tlsEcho else { return nil }
        let issued: Issued
        if let name = pod.appSpec?.options["secret"] {
            let key = pod.appSpec?.options["certificateKey"] ?? Secret.certificateKey
            guard let secret = secrets[name], let certificate = secret.text(key),
                  let privateKey = secret.data.keys.sorted().compactMap(secret.text).first(where: { $0.contains(PEMLabel.privateKeyMarker) }) else {
                throw .setup("the tls-echo app \(pod.deployment): Secret \(name) has no \(key) with a private key beside it")
            }
            issued = Issued(certificatePEM: certificate, privateKeyPEM: privateKey)
        } else if let host = pod.hostName, let publicCertificate = publicHosts[host.lowercased()] {
            issued = publicCertificate
        } else {
            throw .setup("the tls-echo app \(pod.deployment) names no Secret (only a host outside the cluster has a public certificate)")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(issued.certificatePEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM.utf8), format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        } catch {
            throw .setup("the tls-echo app \(pod.deployment) cannot load its certificate: \(error)")
        }
    }
}
