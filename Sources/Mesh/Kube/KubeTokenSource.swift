import Foundation
import NIOConcurrencyHelpers

/// The bearer token of a connection. A token file (a projected service-account token, rotated by
/// the kubelet) is re-read when its modification time changes (looked at for every request) and at
/// least once a minute; after a 401 the next request re-reads it.
final class KubeTokenSource: Sendable {
    private struct Cached {
        var token: String
        var modified: Date?
        var checked: Date
    }

    private let credentials: KubeCredentials
    private let cache = NIOLockedValueBox<Cached?>(nil)

    init(_ credentials: KubeCredentials) {
        self.credentials = credentials
    }

    /// The token to send, nil when the connection authenticates otherwise.
    func token() throws(KubeError) -> String? {
        switch credentials {
        case .none, .clientCertificate: return nil
        case .bearerToken(let token): return token
        case .bearerTokenFile(let path): return try fileToken(path)
        }
    }

    /// Forgets a cached file token; true when a retry may see another token.
    func invalidate() -> Bool {
        guard case .bearerTokenFile = credentials else { return false }
        cache.withLockedValue { $0 = nil }
        return true
    }

    private func fileToken(_ path: String) throws(KubeError) -> String {
        let now = Date()
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        if let cached = cache.withLockedValue({ $0 }), cached.modified == modified, now.timeIntervalSince(cached.checked) < 60 {
            return cached.token
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeError(.configuration, request: path, message: "cannot read the token file")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
            throw KubeError(.configuration, request: path, message: "expected one token on one line")
        }
        cache.withLockedValue { $0 = Cached(token: token, modified: modified, checked: now) }
        return token
    }
}
