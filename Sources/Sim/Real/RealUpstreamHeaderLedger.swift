import NIOConcurrencyHelpers
import NIOHTTP1
import SimCore

/// The request headers `upstreamHeaders:` expectations ask about, as the real run's apps received
/// them: each load request carries an `x-request-id` naming its load (`load/worker/n`), and the app
/// that gets it tallies the named headers (and `:method`, `:path`, `:authority`) for that load, as
/// the simulator's apps do.
final class RealUpstreamHeaderLedger: Sendable {
    private let tallies: NIOLockedValueBox<[String: HeaderTally]>

    /// `names`: per load, the headers its expectations name (loads without any record nothing).
    init(names: [String: [String]]) {
        tallies = NIOLockedValueBox(names.filter { !$0.value.isEmpty }.mapValues { HeaderTally(names: $0) })
    }

    /// An app received `head` (with its `Host` header; `uri` the path).
    func received(_ head: HTTPRequestHead) {
        guard let id = head.headers.first(name: "x-request-id"), let load = Self.load(ofRequestID: id) else { return }
        tallies.withLockedValue { tallies in
            guard tallies[load] != nil else { return }
            tallies[load]?.record { name in
                let value: String? = switch name {
                case ":method": head.method.rawValue
                case ":path": head.uri
                case ":authority": head.headers.first(name: "host")
                default: head.headers.first(name: name)
                }
                return value
            }
        }
    }

    func observations(of load: String) -> [HeaderObservation] {
        tallies.withLockedValue { $0[load]?.observations ?? [] }
    }

    /// `load/worker/n` → `load` (a load's name may hold `/` itself).
    static func load(ofRequestID id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        return parts.dropLast(2).joined(separator: "/")
    }
}
