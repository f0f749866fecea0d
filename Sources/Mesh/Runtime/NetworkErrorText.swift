#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import MeshShell
import NIOCore
import NIOPosix

/// Socket errors from NIO in plain words, one line: what failed, why (the operating system's
/// reason, `SystemErrorText`) and what to do. What the commands print instead of NIO's own
/// descriptions (`IOError` names the system call and its arguments; `NIOConnectionError` dumps
/// every attempt).
public enum NetworkErrorText {
    /// `cannot connect to 127.0.0.1:1 (connection refused): is the sidecar running? ...`
    public static func connect(to address: String, _ error: any Error, hint: String) -> String {
        "cannot connect to \(address) (\(reason(of: error))): \(hint)"
    }

    /// `cannot listen on 127.0.0.1:6060: address already in use (another fsm up or controller?)`
    public static func listen(on address: String, _ error: any Error, hint: String) -> String {
        let why = reason(of: error)
        let code = errnoCode(of: error)
        let advice = code == EADDRINUSE ? " (\(hint))" : (code == EADDRNOTAVAIL ? " (no interface of this machine has that address)" : "")
        return "cannot listen on \(address): \(why)\(advice)"
    }

    /// Whether `error` is a failure to bind a listening address (in use, not this machine's, not allowed).
    public static func isListenFailure(_ error: any Error) -> Bool {
        guard let code = errnoCode(of: error) else { return false }
        return code == EADDRINUSE || code == EADDRNOTAVAIL || code == EACCES
    }

    /// Why a socket operation failed: `connection refused`, `timed out`, `unknown host`, or, for an
    /// error that is not NIO's, its own description (the mesh's errors are one line already).
    public static func reason(of error: any Error) -> String {
        if let code = errnoCode(of: error) { return SystemErrorText.describe(errno: code) }
        switch error {
        case let error as ChannelError: return reason(of: error)
        case is SocketAddressError, is SocketAddressError.UnknownHost: return "unknown host"
        case let error as NIOConnectionError:
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "unknown host" }
            return error.connectionErrors.first.map { reason(of: $0.error) } ?? "no address to connect to"
        default: return "\(error)"
        }
    }

    private static func reason(of error: ChannelError) -> String {
        switch error {
        case .connectTimeout: "timed out"
        case .eof, .ioOnClosedChannel, .alreadyClosed, .inputClosed, .outputClosed: "the connection closed"
        default: "the connection failed"
        }
    }

    /// The errno behind an error NIO raised, if there is one.
    public static func errnoCode(of error: any Error) -> Int32? {
        switch error {
        case let error as IOError: return error.errnoCode
        case let error as NIOConnectionError: return error.connectionErrors.lazy.compactMap { errnoCode(of: $0.error) }.first
        default: return nil
        }
    }
}
