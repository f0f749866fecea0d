import NIOConcurrencyHelpers

/// Who echoed each raw TCP call of a real run, so that TCP loads report backends as HTTP loads
/// do (their answers carry `x-real-deployment`; raw TCP has no headers). Every call sends its own
/// 24 bytes (fortio's size); the app's echo port notes which Deployment read them, and the load
/// looks the call up once its echo is back. The bytes on the wire stay a plain echo.
final class RealTCPCallLedger: Sendable {
    private struct State {
        var next: UInt64 = 0
        var servedBy: [String: String] = [:]
    }
    private let state = NIOLockedValueBox(State())

    /// A payload no other call of the run sends: `tcp-call-` and a 15-digit number (24 bytes).
    func nextPayload() -> String {
        let number = state.withLockedValue { state in
            defer { state.next += 1 }
            return state.next
        }
        let digits = String(number)
        return "tcp-call-" + String(repeating: "0", count: max(0, 15 - digits.count)) + digits
    }

    /// The app of `deployment` read this call.
    func served(_ payload: String, by deployment: String) {
        state.withLockedValue { $0.servedBy[payload] = deployment }
    }

    /// The Deployment that read the call, forgotten once asked.
    func server(of payload: String) -> String? {
        state.withLockedValue { $0.servedBy.removeValue(forKey: payload) }
    }
}
