import MeshModel

/// What the controller does about AccessCerts (demos.md 6.7), as a state machine: AccessCerts and
/// the time in, actions out (issue a certificate into a Secret, remove a Secret it wrote, set an
/// AccessCert's status); the shell performs them and reports back (`issued`, `failed`). The same
/// logic serves `fsm controller` on a manifest directory or a cluster and the simulator: `Instant`
/// is whatever time the shell keeps (a `Date`, virtual time), and the shell says when an issued
/// certificate is due for renewal (its `renewalTime`) and when a failed one is tried again.
///
/// Rules: nothing is issued while `enableAccessCertPolicy` is off (status `error` with FSM's
/// reason); a SAN that names the identity of a meshed pod is refused (a certificate for it would
/// pass as that pod's sidecar), and one issued before such a pod came is withdrawn; two AccessCerts naming one Secret: the first by namespace/name
/// wins. A changed spec re-issues (removing the old Secret when the spec names another), a due
/// renewal re-issues, a deleted AccessCert's Secret is removed.
public struct AccessCertIssuer<Instant: Comparable & Sendable>: Sendable {
    /// One certificate to issue: what the AccessCert asks for.
    public struct Request: Hashable, Sendable {
        public var key: ResourceKey
        public var subjectAltNames: [String]
        public var secret: SecretReference

        public init(key: ResourceKey, subjectAltNames: [String], secret: SecretReference) {
            self.key = key
            self.subjectAltNames = subjectAltNames
            self.secret = secret
        }
    }

    public enum Action: Hashable, Sendable {
        /// Issue a certificate for the SANs and write it into the Secret (create or replace).
        case issue(Request)
        /// Remove a Secret written for `owner` (only if it is still the one written for it).
        case removeSecret(SecretReference, owner: ResourceKey)
        case setStatus(ResourceKey, AccessCertStatus)
    }

    enum Entry: Sendable {
        case pending(Request)
        case issued(Request, renewAt: Instant)
        case failed(Request, retryAt: Instant)

        var request: Request {
            switch self {
            case .pending(let r), .issued(let r, _), .failed(let r, _): r
            }
        }
    }

    private var entries: [ResourceKey: Entry] = [:]
    private var statuses: [ResourceKey: AccessCertStatus] = [:]

    public init() {}

    /// The actions the current AccessCerts call for at `now`. `meshIdentities` says whether a name
    /// is the identity of a meshed pod (`MeshController.isMeshIdentity`).
    public mutating func reconcile(_ certs: [ResourceKey: AccessCert], enabled: Bool, now: Instant,
                                   meshIdentities: (String) -> Bool) -> [Action] {
        var actions: [Action] = []
        for key in entries.keys.sorted() where certs[key] == nil {
            if case .issued(let request, _) = entries[key] { actions.append(.removeSecret(request.secret, owner: key)) }
            entries[key] = nil
            statuses[key] = nil
        }
        var claimed: [SecretReference: ResourceKey] = [:]
        for key in certs.keys.sorted() {
            guard let cert = certs[key] else { continue }
            if let problem = refusal(cert, key: key, enabled: enabled, claimed: claimed, meshIdentities: meshIdentities) {
                // A certificate that now names a meshed identity is withdrawn, not left to pass as it.
                if problem.withdraw, case .issued(let request, _)? = entries[key] {
                    actions.append(.removeSecret(request.secret, owner: key))
                    entries[key] = nil
                }
                report(key, problem.status, into: &actions)
                continue
            }
            claimed[cert.secret] = key
            let request = Request(key: key, subjectAltNames: cert.subjectAltNames, secret: cert.secret)
            if let next = step(entries[key], request: request, now: now, actions: &actions) {
                entries[key] = .pending(next)
                actions.append(.issue(next))
            } else if case .issued? = entries[key] {
                report(key, .committed, into: &actions) // again after a refusal that has passed (the flag was off)
            }
        }
        return actions
    }

    /// The shell wrote `request`'s certificate; it is due for renewal at `renewAt`.
    public mutating func issued(_ request: Request, renewAt: Instant) -> [Action] {
        guard case .pending(let pending)? = entries[request.key], pending == request else { return [] }
        entries[request.key] = .issued(request, renewAt: renewAt)
        var actions: [Action] = []
        report(request.key, .committed, into: &actions)
        return actions
    }

    /// The shell could not issue or write `request`; it is tried again from `retryAt`.
    public mutating func failed(_ request: Request, reason: String, retryAt: Instant) -> [Action] {
        guard case .pending(let pending)? = entries[request.key], pending == request else { return [] }
        entries[request.key] = .failed(request, retryAt: retryAt)
        var actions: [Action] = []
        report(request.key, AccessCertStatus(.error, reason: reason), into: &actions)
        return actions
    }

    /// Forgets everything (this replica stopped writing: it is no longer the leader); the next
    /// `reconcile` after that issues every AccessCert afresh.
    public mutating func reset() {
        entries = [:]
        statuses = [:]
    }

    /// The request to issue now, if any; adds the removal of a Secret the spec no longer names.
    private func step(_ entry: Entry?, request: Request, now: Instant, actions: inout [Action]) -> Request? {
        switch entry {
        case nil:
            return request
        case .pending(let pending):
            return pending == request ? nil : request
        case .issued(let old, let renewAt):
            if old.secret != request.secret { actions.append(.removeSecret(old.secret, owner: request.key)) }
            return old != request || now >= renewAt ? request : nil
        case .failed(let old, let retryAt):
            return old != request || now >= retryAt ? request : nil
        }
    }

    /// Why nothing is issued for `cert`, and whether a certificate issued before must go.
    private func refusal(_ cert: AccessCert, key: ResourceKey, enabled: Bool, claimed: [SecretReference: ResourceKey],
                         meshIdentities: (String) -> Bool) -> (status: AccessCertStatus, withdraw: Bool)? {
        guard enabled else { return (.prohibited, false) }
        if let owner = claimed[cert.secret] {
            return (AccessCertStatus(.error, reason: "Secret \(cert.secret) is already written for AccessCert \(owner.namespace)/\(owner.name)"), false)
        }
        if let name = cert.subjectAltNames.first(where: meshIdentities) {
            return (AccessCertStatus(.error, reason: "subject alternative name \(name) is the identity of meshed pods; a certificate for it would pass as their sidecar"), true)
        }
        return nil
    }

    private mutating func report(_ key: ResourceKey, _ status: AccessCertStatus, into actions: inout [Action]) {
        guard statuses[key] != status else { return }
        statuses[key] = status
        actions.append(.setStatus(key, status))
    }
}

extension MeshController {
    /// The AccessCerts of the cluster, for `AccessCertIssuer`.
    public var accessCerts: [ResourceKey: AccessCert] { cluster.accessCerts }

    /// Whether `name` (`sa.ns.cluster.local`) is the identity of a meshed pod.
    public func isMeshIdentity(_ name: String) -> Bool {
        (cluster.podsByIdentity[name] ?? []).contains { podGroups[$0] != nil }
    }
}
