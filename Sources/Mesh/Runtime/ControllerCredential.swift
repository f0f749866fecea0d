#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshModel

/// How a sidecar proves to the controller which pod it runs for: the pod's bearer credential,
/// sent as `Authorization: Bearer <token>` on every config poll and certificate request.
public enum ControllerCredential: Sendable, Equatable {
    /// The token itself (in-process sidecars and tests).
    case token(String)
    /// A file holding the token (`fsm sidecar --credential-file`), read for every request, so a
    /// credential replaced on disk is used from the next request on.
    case file(String)

    /// The token, or a one-line error naming the file.
    public func token() throws -> String {
        switch self {
        case .token(let token):
            return token
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ControllerCredentialError(path: path, problem: "cannot read it")
            }
            let token = String(String(decoding: data, as: UTF8.self).trimming(while: \.isWhitespace))
            guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
                throw ControllerCredentialError(path: path, problem: "expected one token on one line")
            }
            return token
        }
    }
}

/// A pod credential file that cannot be used.
public struct ControllerCredentialError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { "pod credential file \(path): \(problem)" }
}

extension ControllerEndpoint {
    /// The request headers that carry the credential (none without one).
    func authorizationHeaders() throws -> [(String, String)] {
        guard let credential else { return [] }
        return [("authorization", "Bearer \(try credential.token())")]
    }
}
