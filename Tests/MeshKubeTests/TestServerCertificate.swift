import Crypto
import Foundation
import MeshIdentity
import MeshTestCA
import NIOSSL
import SwiftASN1
import X509

/// A server certificate for an IP address (as an API server's), signed by the shared test CA.
enum TestServerCertificate {
    static func make(ipAddress: String) throws -> (NIOSSLCertificate, NIOSSLPrivateKey) {
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: TestCA.shared.authority.privateKeyPEM)
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let octets = ipAddress.split(separator: ".").compactMap { UInt8($0) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 3600, issuer: TestCA.shared.root.subject,
            subject: try DistinguishedName { CommonName("kube-apiserver") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets)))])
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        let pem = try certificate.serializeAsPEM().pemString
        return (try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem), try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem))
    }
}
