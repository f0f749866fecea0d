import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshModel

/// Whom a credential speaks for: one pod (its sidecar), one FSM Gateway, or the mesh operator.
public enum CredentialSubject: Hashable, Sendable, CustomStringConvertible {
    case pod(namespace: String, name: String)
    /// The sidecar the injection webhook added to a pod whose name it could not know yet
    /// (`generateName`): the pod in `namespace` labelled `fsm-proxy-uuid: <uuid>`.
    case proxy(namespace: String, uuid: String)
    /// An FSM Gateway: the gateway config of the Gateway `namespace/name`, nothing else.
    case gateway(namespace: String, name: String)
    case `operator`

    /// The pod label that names the sidecar an injection added: a `proxy` credential speaks for
    /// the pod carrying its uuid there.
    public static let proxyUUIDLabel = "fsm-proxy-uuid"

    public var description: String {
        switch self {
        case .pod(let namespace, let name): "pod \(namespace)/\(name)"
        case .proxy(let namespace, let uuid): "proxy \(uuid) in \(namespace)"
        case .gateway(let namespace, let name): "gateway \(namespace)/\(name)"
        case .operator: "operator"
        }
    }
}

/// A bearer credential as minted: whom it is for and the token text sent as
/// `Authorization: Bearer <token>`.
public struct MeshCredential: Hashable, Sendable {
    public let subject: CredentialSubject
    public let token: String
}

/// Why a presented credential was not accepted.
public enum CredentialRejection: Error, Equatable, Sendable, CustomStringConvertible {
    /// No `Authorization` header.
    case missing
    /// Not a bearer token of our format (wrong scheme, version, encoding, length).
    case malformed(String)
    /// Well formed, but not minted with this controller's key.
    case invalid

    public var description: String {
        switch self {
        case .missing: "no credential (expected Authorization: Bearer <token>)"
        case .malformed(let why): "malformed credential: \(why)"
        case .invalid: "the credential was not issued by this controller"
        }
    }
}

/// A subject or key the authority cannot mint with, in one line.
public struct CredentialError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Mints and verifies the mesh's bearer credentials with the controller's secret key, so the
/// controller keeps no table of what it issued.
///
/// A token is `fsm1.<payload>.<mac>` (base64url without padding). The payload encodes, each
/// length-prefixed (two bytes, big endian): the subject kind (`pod`, `proxy`, `gateway` or `operator`), the namespace,
/// the name, and an instance (the pod's uid when the issuer knows it, else a random nonce per
/// start). The MAC is HMAC-SHA256 over `fsm-credential-v1`, a zero byte and the payload.
/// Verification recomputes it and compares in constant time; it then says whom the credential is
/// for. Pure: the key and the nonces come from the caller.
public struct CredentialAuthority: Sendable {
    /// Bytes of a new key; shorter keys are refused.
    public static let keyByteCount = 32
    public static let tokenPrefix = "fsm1."
    /// Longer tokens are refused before any decoding.
    public static let maxTokenLength = 1024
    static let maxFieldBytes = 253
    static let domain = Array("fsm-credential-v1".utf8) + [0]

    private let key: SymmetricKey

    public init(keyBytes: some Collection<UInt8>) throws(CredentialError) {
        guard keyBytes.count >= Self.keyByteCount else {
            throw CredentialError("a credential key needs at least \(Self.keyByteCount) bytes, found \(keyBytes.count)")
        }
        key = SymmetricKey(data: Array(keyBytes))
    }

    /// A new random key.
    public static func generateKey(using generator: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<keyByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// A credential for `subject`, told apart from earlier ones by a random 16-byte instance.
    public func mint(_ subject: CredentialSubject, using generator: inout some RandomNumberGenerator) throws(CredentialError) -> MeshCredential {
        let nonce = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try mint(subject, instance: nonce)
    }

    /// A credential for `subject` and a given instance (a pod uid, or a nonce).
    public func mint(_ subject: CredentialSubject, instance: [UInt8]) throws(CredentialError) -> MeshCredential {
        let fields = try CredentialFields(subject: subject, instance: instance)
        let payload = fields.encoded
        let mac = HMAC<SHA256>.authenticationCode(for: Self.domain + payload, using: key)
        let token = Self.tokenPrefix + Base64URL.encode(payload) + "." + Base64URL.encode(Array(mac))
        return MeshCredential(subject: subject, token: token)
    }

    /// Whom `token` speaks for, or why it is refused.
    public func verify(token: some StringProtocol) -> Result<CredentialSubject, CredentialRejection> {
        guard token.utf8.count <= Self.maxTokenLength else { return .failure(.malformed("longer than \(Self.maxTokenLength) characters")) }
        guard token.hasPrefix(Self.tokenPrefix) else { return .failure(.malformed("expected a token starting with \(Self.tokenPrefix)")) }
        let parts = token.dropFirst(Self.tokenPrefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]) else {
            return .failure(.malformed("expected \(Self.tokenPrefix)<payload>.<mac> in base64url"))
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.domain + payload, using: key) else {
            return .failure(.invalid)
        }
        // Only a payload this key signed gets decoded.
        guard let fields = CredentialFields(decoding: payload) else { return .failure(.malformed("undecodable payload")) }
        return .success(fields.subject)
    }

    /// Whom the `Authorization` header values of one request speak for (`Bearer <token>`).
    public func verify(authorization values: [String]) -> Result<CredentialSubject, CredentialRejection> {
        guard let value = values.first else { return .failure(.missing) }
        guard values.count == 1 else { return .failure(.malformed("more than one Authorization header")) }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .failure(.malformed("expected the Bearer scheme")) }
        return verify(token: parts[1].trimming(while: { $0.isWhitespace && !$0.isNewline }))
    }
}

/// The signed fields of a credential, in their unambiguous encoding.
struct CredentialFields {
    static let podKind = "pod"
    static let proxyKind = "proxy"
    static let gatewayKind = "gateway"
    static let operatorKind = "operator"

    var kind: String
    var namespace: String
    var name: String
    var instance: [UInt8]

    init(subject: CredentialSubject, instance: [UInt8]) throws(CredentialError) {
        guard !instance.isEmpty, instance.count <= 64 else { throw CredentialError("a credential instance needs 1 to 64 bytes, found \(instance.count)") }
        self.instance = instance
        switch subject {
        case .operator:
            kind = Self.operatorKind
            namespace = ""
            name = ""
        case .pod(let podNamespace, let podName):
            try Self.checkNames([("namespace", podNamespace), ("pod name", podName)])
            kind = Self.podKind
            namespace = podNamespace
            name = podName
        case .proxy(let podNamespace, let uuid):
            try Self.checkNames([("namespace", podNamespace), ("proxy uuid", uuid)])
            kind = Self.proxyKind
            namespace = podNamespace
            name = uuid
        case .gateway(let gatewayNamespace, let gatewayName):
            try Self.checkNames([("namespace", gatewayNamespace), ("gateway name", gatewayName)])
            kind = Self.gatewayKind
            namespace = gatewayNamespace
            name = gatewayName
        }
    }

    private static func checkNames(_ fields: [(String, String)]) throws(CredentialError) {
        for (field, value) in fields where !isPlainName(value) {
            throw CredentialError("cannot mint a credential for \(field) '\(value)': expected 1 to \(CredentialAuthority.maxFieldBytes) printable ASCII characters without '/'")
        }
    }

    /// Fields from a payload; nil unless it is exactly four length-prefixed fields of a known kind.
    init?(decoding payload: [UInt8]) {
        var reader = payload[...]
        var fields: [[UInt8]] = []
        while !reader.isEmpty {
            guard reader.count >= 2 else { return nil }
            let length = Int(reader[reader.startIndex]) << 8 | Int(reader[reader.startIndex + 1])
            reader = reader.dropFirst(2)
            guard length <= reader.count else { return nil }
            fields.append(Array(reader.prefix(length)))
            reader = reader.dropFirst(length)
        }
        guard fields.count == 4 else { return nil }
        let text = fields[0..<3].map { String(decoding: $0, as: UTF8.self) }
        let subject: CredentialSubject
        switch text[0] {
        case Self.podKind: subject = .pod(namespace: text[1], name: text[2])
        case Self.proxyKind: subject = .proxy(namespace: text[1], uuid: text[2])
        case Self.gatewayKind: subject = .gateway(namespace: text[1], name: text[2])
        case Self.operatorKind where fields[1].isEmpty && fields[2].isEmpty: subject = .operator
        default: return nil
        }
        guard let fields = try? CredentialFields(subject: subject, instance: fields[3]) else { return nil }
        self = fields
    }

    var subject: CredentialSubject {
        switch kind {
        case Self.podKind: .pod(namespace: namespace, name: name)
        case Self.proxyKind: .proxy(namespace: namespace, uuid: name)
        case Self.gatewayKind: .gateway(namespace: namespace, name: name)
        default: .operator
        }
    }

    var encoded: [UInt8] {
        var out: [UInt8] = []
        for field in [Array(kind.utf8), Array(namespace.utf8), Array(name.utf8), instance] {
            out += [UInt8(field.count >> 8), UInt8(field.count & 0xFF)] + field
        }
        return out
    }

    static func isPlainName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return !bytes.isEmpty && bytes.count <= CredentialAuthority.maxFieldBytes && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }
    }
}

/// RFC 4648 base64url without padding.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        let standard = Data(bytes).base64EncodedString().utf8
        return String(decoding: standard.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }, as: UTF8.self)
    }

    /// nil for anything but the base64url alphabet (no padding) or an impossible length.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let allowed = text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"): true
            default: false
            }
        }
        guard allowed, !text.isEmpty, text.utf8.count % 4 != 1 else { return nil }
        var standard = String(decoding: text.utf8.map { byte in
            byte == UInt8(ascii: "-") ? UInt8(ascii: "+") : byte == UInt8(ascii: "_") ? UInt8(ascii: "/") : byte
        }, as: UTF8.self)
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}
