import MeshKube
import MeshModel
import NIOCore

/// A misbehaviour the API-server double shows to the next matching requests.
public enum KubeAPIFault: Sendable, Equatable {
    /// Answer with this status and a `Status` body (401, 403, 500, 410 ...).
    case status(Int, reason: String, message: String)
    /// A list answers 200 with a body that is not JSON; a watch sends a line that is not an event.
    case garbage
    /// A watch closes the connection after this many events, without ending the stream.
    case drop(afterEvents: Int)
    /// A watch sends half an event line, then closes.
    case truncate
    /// A watch sends `ERROR` with a 410 Status (the resourceVersion was compacted away), then ends.
    case gone
    /// Every answer (or every watch event) waits this long first.
    case delay(TimeAmount)
    /// No answer at all (the client's deadline must end it).
    case hang

    public static let unauthorized = KubeAPIFault.status(401, reason: "Unauthorized", message: "Unauthorized")
    public static func forbidden(_ type: KubeResourceType, user: String = "system:serviceaccount:fsm-system:fsm") -> KubeAPIFault {
        .status(403, reason: "Forbidden", message: "\(type.plural) is forbidden: User \"\(user)\" cannot list resource \"\(type.plural)\" in API group \"\(type.group)\" at the cluster scope")
    }
}

/// Which requests a fault applies to.
public enum KubeAPIVerb: String, Sendable, Equatable {
    case list, watch, get, create, update, patch, delete
}

/// A fault waiting for requests: `times` more matching requests get it.
struct KubeAPIFaultRule: Sendable {
    var fault: KubeAPIFault
    var verbs: Set<KubeAPIVerb>
    var type: KubeResourceType?
    var times: Int
}

/// One request the double served, as tests assert on it.
public struct KubeAPIRequest: Sendable {
    public var verb: KubeAPIVerb
    public var method: String
    /// Path without the query.
    public var path: String
    public var query: [String: String]
    public var contentType: String?
    /// Parsed JSON body of a write (nil for reads or a body that is not JSON).
    public var body: JSONValue?
    public var type: KubeResourceType?
    public var name: String?
    public var namespace: String?
    /// The status answered (200 for a watch that started).
    public var status: Int
    public var authorization: String?

    public var isWrite: Bool { ![.list, .watch, .get].contains(verb) }
}
