import MeshTesting

/// What the real capture tests need: root, iproute2, iptables, the right to create network
/// namespaces (MeshTesting's `CaptureTestEnvironment`), and the `redirect-probe` binary.
enum CaptureEnvironment {
    static func tool(_ name: String) -> String? { CaptureTestEnvironment.tool(name) }

    static let unavailableReason: String? = CaptureTestEnvironment.unavailableReason(needing: ["ip", "iptables", "iptables-restore"])

    /// For `.enabled(if:)`, whose comment carries `unavailableReason`.
    static var isAvailable: Bool { unavailableReason == nil }

    /// `redirect-probe` sits next to the test bundle in the build directory.
    static func probePath() -> String? { CaptureTestEnvironment.binary("redirect-probe") }
}
