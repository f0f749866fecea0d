import Foundation
import MeshShell
import NIOCore
import NIOPosix
import SimCore

/// The address of the client outside the cluster (`from: external`) in a real run: the
/// simulator's, `LoadSpec.externalClientIP` (198.51.100.1, a documentation address), so that
/// what a gateway decides from the client's address (a hashing load balancer's choice, the
/// `x-forwarded-for` it appends, an access list) is the same in both columns (DECISIONS 180).
/// The address must be local to this machine: when it is not yet, it is added to the loopback
/// interface (`ip addr add 198.51.100.1/32 dev lo`, as root) and left there for the next runs
/// (another run may be using it; it routes nothing else).
enum RealOutsideClient {
    static let address = LoadSpec.externalClientIP

    /// Makes sure a socket can bind `address`; refuses the run (exit 2) when it cannot.
    static func prepare() async throws(RealModeError) {
        if await canBind() { return }
        let added = addToLoopback()
        guard await canBind() else {
            throw .unsupported("loads from outside the cluster: the outside client's address \(address) is not on this machine and could not be added (`ip addr add \(address)/32 dev lo` needs root): \(added)")
        }
    }

    /// A socket can be bound to the address (a listener is the check: nothing needs to answer).
    private static func canBind() async -> Bool {
        guard let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: address, port: 0).get() else { return false }
        try? await channel.close()
        return true
    }

    /// `ip addr add ADDRESS/32 dev lo`; what it said when it failed.
    private static func addToLoopback() -> String {
        guard let tool = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            return "no ip tool (iproute2) on this machine"
        }
        let completion: SpawnedProcess.Completion
        do {
            completion = try SpawnedProcess.run(ProcessLaunch(tool, ["addr", "add", "\(address)/32", "dev", "lo"], standardOutput: .null))
        } catch {
            return error.description
        }
        let said = completion.errorText.split(separator: "\n").first.map(String.init)
        return completion.termination.succeeded ? "added" : said ?? completion.termination.description
    }
}
