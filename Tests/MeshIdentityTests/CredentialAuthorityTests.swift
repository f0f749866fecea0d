import Foundation
import MeshIdentity
import MeshTesting
import Testing

/// The bearer credentials the controller checks: minted with its key, verified without a table,
/// refused (with the right reason) when forged, altered, malformed or from another key.
@Suite struct CredentialAuthorityTests {
    static let key = (0..<32).map { UInt8($0 * 7 & 0xFF) }
    static let buyer = CredentialSubject.pod(namespace: "shop", name: "buyer-1")

    static func authority(_ key: [UInt8] = key) throws -> CredentialAuthority {
        try CredentialAuthority(keyBytes: key)
    }

    @Test func aMintedCredentialVerifiesAsItsSubjectAndEachMintIsDistinct() throws {
        let authority = try Self.authority()
        var generator = SeededGenerator(seed: 7)
        let first = try authority.mint(Self.buyer, using: &generator)
        let second = try authority.mint(Self.buyer, using: &generator)
        let admin = try authority.mint(.operator, using: &generator)
        #expect(first.token.hasPrefix("fsm1."))
        #expect(first.token != second.token)
        #expect(try authority.verify(token: first.token).get() == Self.buyer)
        #expect(try authority.verify(token: second.token).get() == Self.buyer)
        #expect(try authority.verify(token: admin.token).get() == .operator)
        #expect(try authority.verify(authorization: ["Bearer \(first.token)"]).get() == Self.buyer)
        #expect(try authority.verify(authorization: ["bearer   \(admin.token)"]).get() == .operator)
    }

    @Test func mintingIsPureGivenTheKeyAndInstance() throws {
        let one = try Self.authority().mint(Self.buyer, instance: [1, 2, 3])
        let two = try Self.authority().mint(Self.buyer, instance: [1, 2, 3])
        #expect(one == two)
        #expect(try Self.authority().mint(Self.buyer, instance: [1, 2, 4]).token != one.token)
    }

    @Test func anotherKeysCredentialIsInvalid() throws {
        let other = try Self.authority((0..<32).map { _ in 9 })
        let foreign = try other.mint(Self.buyer, instance: [1])
        #expect(try Self.authority().verify(token: foreign.token) == .failure(.invalid))
    }

    /// Changing any byte of the payload or the MAC (here: the pod's name, and the MAC's first
    /// character) breaks the MAC.
    @Test func alteredTokensAreInvalid() throws {
        let authority = try Self.authority()
        let token = try authority.mint(Self.buyer, instance: [5, 5]).token
        let store = try authority.mint(.pod(namespace: "shop", name: "buyer-2"), instance: [5, 5]).token
        let parts = token.split(separator: ".")
        let storeParts = store.split(separator: ".")
        // buyer-2's payload with buyer-1's MAC.
        #expect(authority.verify(token: "fsm1.\(storeParts[1]).\(parts[2])") == .failure(.invalid))
        let mac = String(parts[2])
        let flipped = (mac.first == "A" ? "B" : "A") + mac.dropFirst()
        #expect(authority.verify(token: "fsm1.\(parts[1]).\(flipped)") == .failure(.invalid))
        #expect(authority.verify(token: "fsm1.\(parts[1]).\(mac.dropLast(4))") == .failure(.invalid))
    }

    @Test func fieldsAreEncodedUnambiguously() throws {
        let authority = try Self.authority()
        let ab = try authority.mint(.pod(namespace: "ab", name: "c"), instance: [1])
        let a = try authority.mint(.pod(namespace: "a", name: "bc"), instance: [1])
        #expect(ab.token != a.token)
        #expect(try authority.verify(token: ab.token).get() == .pod(namespace: "ab", name: "c"))
    }

    @Test func malformedCredentialsSayWhy() throws {
        let authority = try Self.authority()
        let good = try authority.mint(Self.buyer, instance: [1]).token
        let cases: [(String, String)] = [
            ("", "expected a token starting with fsm1."),
            ("not-a-token", "expected a token starting with fsm1."),
            ("fsm1.", "expected fsm1.<payload>.<mac> in base64url"),
            ("fsm1.abc", "expected fsm1.<payload>.<mac> in base64url"),
            ("fsm1.a+b.c/d", "expected fsm1.<payload>.<mac> in base64url"),
            (good + ".extra", "expected fsm1.<payload>.<mac> in base64url"),
            ("fsm1." + String(repeating: "A", count: 2000), "longer than 1024 characters"),
        ]
        for (token, why) in cases {
            #expect(authority.verify(token: token) == .failure(.malformed(why)), "\(token.prefix(40))")
        }
        #expect(authority.verify(authorization: []) == .failure(.missing))
        #expect(authority.verify(authorization: ["Basic \(good)"]) == .failure(.malformed("expected the Bearer scheme")))
        #expect(authority.verify(authorization: ["Bearer"]) == .failure(.malformed("expected the Bearer scheme")))
        #expect(authority.verify(authorization: ["Bearer \(good)", "Bearer \(good)"]) == .failure(.malformed("more than one Authorization header")))
        #expect("\(CredentialRejection.missing)" == "no credential (expected Authorization: Bearer <token>)")
    }

    @Test func mintingRefusesNamesThatCouldBeMisread() throws {
        let authority = try Self.authority()
        for (namespace, name) in [("", "x"), ("shop", ""), ("shop/x", "y"), ("shop", "a b"), ("shop", String(repeating: "n", count: 254)), ("shop", "caf\u{e9}")] {
            #expect(throws: CredentialError.self) { try authority.mint(.pod(namespace: namespace, name: name), instance: [1]) }
        }
        let error = #expect(throws: CredentialError.self) { try authority.mint(.pod(namespace: "shop/x", name: "y"), instance: [1]) }
        #expect(error?.description == "cannot mint a credential for namespace 'shop/x': expected 1 to 253 printable ASCII characters without '/'")
        #expect(throws: CredentialError("a credential instance needs 1 to 64 bytes, found 0")) { try authority.mint(.operator, instance: []) }
    }

    @Test func shortKeysAreRefused() {
        #expect(throws: CredentialError("a credential key needs at least 32 bytes, found 16")) {
            try CredentialAuthority(keyBytes: [UInt8](repeating: 1, count: 16))
        }
    }
}
