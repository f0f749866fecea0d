#if canImport(Glibc)
import Glibc
#endif
import MeshRedirect
import MeshShell

/// The sidecar side of iptables capture (`fsm sidecar --capture iptables --apply-iptables`): loads
/// MeshRedirect's nat rules into the current network namespace with `iptables-restore --noflush`,
/// then gives up root for the proxy uid, so that the rules' owner exclusion lets the sidecar's own
/// connections through uncaptured. Without `--apply-iptables` an init step (root) applies
/// `RedirectRules.restoreScript` and the sidecar is started as the proxy uid.
public enum IptablesCapture {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    /// Applies `rules` (needs CAP_NET_ADMIN in the namespace).
    public static func apply(_ rules: RedirectRules) throws {
        let candidates: [String] = searchPath.map { "\($0)/iptables-restore" }
        guard let tool = candidates.first(where: { (path: String) in access(path, X_OK) == 0 }) else {
            throw Failure(description: "iptables-restore not found (Debian package iptables)")
        }
        let completion: SpawnedProcess.Completion
        do {
            completion = try SpawnedProcess.run(ProcessLaunch(tool, ["--noflush"], standardOutput: .null), input: Array(rules.restoreScript.utf8))
        } catch {
            throw Failure(description: "\(error)")
        }
        guard completion.termination.succeeded else {
            throw Failure(description: "iptables-restore failed (\(completion.termination.shellStatus)): \(completion.errorText)")
        }
    }

    /// Switches the whole process to `uid` (group too), for good. Call before any other thread
    /// starts; a no-op when already running as `uid`.
    public static func dropPrivileges(to uid: Int) throws {
        #if canImport(Glibc)
        guard geteuid() != uid_t(uid) else { return }
        guard setgroups(0, nil) == 0, setgid(gid_t(uid)) == 0, setuid(uid_t(uid)) == 0 else {
            throw Failure(description: "cannot switch to uid \(uid): \(String(cString: strerror(errno)))")
        }
        #else
        throw Failure(description: "dropping privileges needs Linux")
        #endif
    }
}
