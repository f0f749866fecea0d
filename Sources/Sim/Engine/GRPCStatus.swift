import MeshModel
import MeshProxy

/// The gRPC status a client reads from an answer: its `grpc-status`, else the one gRPC's HTTP
/// mapping gives the HTTP status (doc/http-grpc-status-mapping.md in grpc/grpc), and UNAVAILABLE
/// for a connection that failed.
public enum GRPCStatus {
    static let unavailable = 14

    static func of(status: Int, head: HTTPResponseHead?) -> Int {
        of(status: status, grpcStatus: head?.header("grpc-status"))
    }

    /// The same, from the answer's `grpc-status` text (real mode's clients read it off the wire).
    public static func of(status: Int, grpcStatus text: String?) -> Int {
        if status != 0, let text, let code = Int(text), (0...16).contains(code) { return code }
        switch status {
        case 0: return unavailable
        case 400: return 13  // INTERNAL
        case 401: return 16  // UNAUTHENTICATED
        case 403: return 7  // PERMISSION_DENIED
        case 404: return 12  // UNIMPLEMENTED
        case 429, 502, 503, 504: return unavailable
        default: return 2  // UNKNOWN
        }
    }
}
