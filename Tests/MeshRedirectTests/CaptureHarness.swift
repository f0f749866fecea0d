import MeshTesting

/// What the real capture tests need: root, iproute2, iptables, the right to create network
/// namespaces (MeshTesting's `CaptureTestEnvironment`), and the `redirect-probe` binary.
enum CaptureEnvironment {
    static func tool(_ name: String) -> String? { CaptureTestEnvironment.tool(name) }

    static let unavailableReason: String? = CaptureTestEnvironment.unavailableReason(needing: ["ip", "iptables", "iptables-restore"])

    static var isAvailable: Bool {
        if let reason = unavailableReason {
            print("MeshRedirectTests: skipping the real traffic capture tests: \(reason)")
            return false
        }
        return true
    }

    /// `redirect-probe` sits next to the test bundle in the build directory.
    static func probePath() -> String? { CaptureTestEnvironment.binary("redirect-probe") }
}
