/// Everything that can go wrong issuing, loading or verifying a mesh certificate, each with a
/// message a person can act on.
public enum IdentityError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidIdentity(String, reason: String)
    case invalidValidity(String)
    case invalidPEM(what: String, reason: String)
    case signingFailed(String)
    case emptyChain
    case notYetValid(subject: String, notBefore: String, now: String)
    case expired(subject: String, notAfter: String, now: String)
    case untrusted(subject: String, reason: String)
    case noMeshIdentity(subject: String)

    public var description: String {
        switch self {
        case let .invalidIdentity(text, reason): "invalid service identity '\(text)': \(reason)"
        case let .invalidValidity(reason): "invalid certificate validity: \(reason)"
        case let .invalidPEM(what, reason): "cannot read \(what): \(reason)"
        case let .signingFailed(reason): "cannot sign the certificate: \(reason)"
        case .emptyChain: "the peer presented no certificate"
        case let .notYetValid(subject, notBefore, now): "certificate \(subject) is not valid yet: valid from \(notBefore), now is \(now)"
        case let .expired(subject, notAfter, now): "certificate \(subject) has expired: valid until \(notAfter), now is \(now)"
        case let .untrusted(subject, reason): "certificate \(subject) is not issued by the mesh root CA: \(reason)"
        case let .noMeshIdentity(subject): "certificate \(subject) carries no mesh identity (no DNS SAN of the form sa.ns.cluster.local)"
        }
    }
}
