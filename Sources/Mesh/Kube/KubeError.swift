import Foundation

/// Why a call to the Kubernetes API failed, in one line: what was asked, of whom, and what came
/// back (the `Status` message the API server sent, not a dump of the response).
public struct KubeError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The server answered with an error status (`code`); `reason` is the Status reason
        /// (`Forbidden`, `NotFound`, `Conflict`, `AlreadyExists`, `Gone`, ...).
        case status(code: Int, reason: String)
        /// No HTTP answer: connection refused, DNS, timeout, reset.
        case unreachable
        /// The TLS handshake failed (unknown CA, wrong name, bad client certificate).
        case tls
        /// An answer came but its body is not what the API sends (not JSON, wrong shape).
        case malformed
        /// Local configuration (kubeconfig, token file, certificate files) that cannot be used.
        case configuration
    }

    public var kind: Kind
    /// `GET /api/v1/pods`, or the file for configuration errors.
    public var request: String
    public var message: String

    public init(_ kind: Kind, request: String, message: String) {
        self.kind = kind
        self.request = request
        self.message = message
    }

    public var statusCode: Int? {
        if case .status(let code, _) = kind { return code }
        return nil
    }

    public var isNotFound: Bool { statusCode == 404 }
    public var isConflict: Bool { statusCode == 409 }
    public var isGone: Bool { statusCode == 410 }
    public var isUnauthorized: Bool { statusCode == 401 }
    public var isForbidden: Bool { statusCode == 403 }

    public var description: String {
        switch kind {
        case .status(let code, let reason):
            let label = reason.isEmpty ? "\(code)" : "\(code) \(reason)"
            return "\(request): \(label): \(message)"
        case .unreachable: return "\(request): API server unreachable: \(message)"
        case .tls: return "\(request): TLS: \(message)"
        case .malformed: return "\(request): unexpected answer: \(message)"
        case .configuration: return "\(request): \(message)"
        }
    }
}
