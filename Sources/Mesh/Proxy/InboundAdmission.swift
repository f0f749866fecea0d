import MeshModel

/// Who may use one inbound port (the inbound border, issue 13 item 1): a peer with a mesh
/// identity (its mTLS certificate) takes the port's policy; a client without one is refused unless
/// an AccessControl admits its source address; a certificate naming one of the AccessControl's
/// principals is admitted the same way. Admitted clients take the AccessControl's wildcard route.
/// Pure: the sidecar asks it at the connection and at each request.
struct InboundAdmission: Sendable {
    enum Verdict: Equatable, Sendable {
        /// A mesh peer: the port's traffic policy decides.
        case meshPeer
        /// Admitted by an AccessControl: its route, not the port's policy.
        case accessControl
        /// No mesh identity and no AccessControl for this source: the connection is closed.
        case refused
    }

    /// Source ranges admitted without an identity (empty: none).
    var sourceRanges: [AddressRange] = []
    var principals: Set<String> = []
    var anyPrincipal = false
    /// Where admitted clients go; nil: nobody is admitted without a mesh identity.
    var targets: TargetSet?

    /// No AccessControl: mesh peers only.
    static let meshOnly = InboundAdmission()

    /// At the connection: `peerIdentity` from the peer's verified certificate (nil: none).
    func verdict(peerIdentity: String?, source: String) -> Verdict {
        if let peerIdentity {
            return routesByAccessControl(peerIdentity: peerIdentity) ? .accessControl : .meshPeer
        }
        guard targets != nil else { return .refused }
        let parsed = AddressRange.parseIPv4(source)
        return sourceRanges.contains { $0.contains(ip: source, parsed: parsed) } ? .accessControl : .refused
    }

    /// At a request on an accepted connection: the AccessControl route serves clients without an
    /// identity (the connection was admitted for them) and the principals it names.
    func routesByAccessControl(peerIdentity: String?) -> Bool {
        guard targets != nil else { return false }
        guard let peerIdentity else { return true }
        return anyPrincipal || principals.contains(peerIdentity)
    }
}
