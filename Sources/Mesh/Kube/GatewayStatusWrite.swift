import MeshModel

/// The `status` of one Gateway API object as the controller's conditions make it (pure): a
/// GatewayClass's and a Gateway's `conditions` (a Gateway's listeners under `listeners`), a route's
/// `parents` (one per parentRef, with FSM's `controllerName`). `lastTransitionTime`, which the API
/// requires, is left to the writer (`stamped`); the rest compares equal when nothing changed.
public struct GatewayStatusWrite: Sendable, Equatable {
    public var type: KubeResourceType
    public var key: KubeObjectKey
    public var status: JSONValue

    /// The writes for every object the conditions name (FSM Gateway policies' are not written).
    public static func writes(_ statuses: [GatewayStatus]) -> [GatewayStatusWrite] {
        var order: [String] = []
        var grouped: [String: [GatewayStatus]] = [:]
        for status in statuses {
            if grouped[status.object] == nil { order.append(status.object) }
            grouped[status.object, default: []].append(status)
        }
        return order.compactMap { object in
            guard let (type, key) = target(object) else { return nil }
            return GatewayStatusWrite(type: type, key: key, status: status(of: type, grouped[object]!))
        }
    }

    /// `Gateway httpbin/gw` → the type and key; nil for a kind without a written status.
    static func target(_ object: String) -> (KubeResourceType, KubeObjectKey)? {
        let parts = object.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let types: [String: KubeResourceType] = [
            "GatewayClass": .gatewayClasses, "Gateway": .gateways, "HTTPRoute": .httpRoutes, "GRPCRoute": .grpcRoutes,
            "TCPRoute": .gatewayTCPRoutes, "TLSRoute": .tlsRoutes, "UDPRoute": .udpRoutes,
        ]
        guard let type = types[parts[0]] else { return nil }
        let name = parts[1].split(separator: "/", maxSplits: 1).map(String.init)
        return (type, name.count == 2 ? KubeObjectKey(namespace: name[0], name: name[1]) : KubeObjectKey(namespace: "", name: name[0]))
    }

    static func status(of type: KubeResourceType, _ statuses: [GatewayStatus]) -> JSONValue {
        switch type {
        case .gatewayClasses:
            return .object([("conditions", conditions(statuses.filter { $0.scope.isEmpty }.flatMap(\.conditions)))])
        case .gateways:
            let listeners: [JSONValue] = statuses.compactMap { status in
                guard status.scope.hasPrefix("listener ") else { return nil }
                return .object([("name", .string(String(status.scope.dropFirst("listener ".count)))), ("conditions", conditions(status.conditions))])
            }
            return .object([("conditions", conditions(statuses.filter { $0.scope.isEmpty }.flatMap(\.conditions))), ("listeners", .array(listeners))])
        default:
            let parents: [JSONValue] = statuses.compactMap { status in
                guard let parentRef = parentRef(status.scope) else { return nil }
                return .object([("parentRef", parentRef), ("controllerName", .string(GatewayAPI.controllerName)), ("conditions", conditions(status.conditions))])
            }
            return .object([("parents", .array(parents))])
        }
    }

    /// `parent ns/name[ section s][ port p]` (the controller's scope of a route's parent) → a parentRef.
    static func parentRef(_ scope: String) -> JSONValue? {
        let words = scope.split(separator: " ").map(String.init)
        guard words.count >= 2, words[0] == "parent" else { return nil }
        let name = words[1].split(separator: "/", maxSplits: 1).map(String.init)
        guard name.count == 2 else { return nil }
        var pairs: [(String, JSONValue)] = [
            ("group", .string(GatewayAPI.group)), ("kind", .string("Gateway")), ("namespace", .string(name[0])), ("name", .string(name[1])),
        ]
        var index = 2
        while index + 1 < words.count {
            switch words[index] {
            case "section": pairs.append(("sectionName", .string(words[index + 1])))
            case "port": if let port = Int(words[index + 1]) { pairs.append(("port", .int(port))) }
            default: break
            }
            index += 2
        }
        return .object(pairs)
    }

    static func conditions(_ conditions: [GatewayCondition]) -> JSONValue {
        .array(conditions.map { condition in
            .object([
                ("type", .string(condition.type)), ("status", .string(condition.status.rawValue)), ("reason", .string(condition.reason)),
                ("message", .string(condition.message)),
            ])
        })
    }

    /// The status with every condition's `lastTransitionTime` set to `time` (RFC 3339).
    public func stamped(_ time: String) -> JSONValue {
        func stamp(_ value: JSONValue) -> JSONValue {
            switch value {
            case .object(let pairs):
                let stamped = JSONValue.object(pairs.map { ($0.0, stamp($0.1)) })
                return pairs.contains { $0.0 == "type" } && pairs.contains { $0.0 == "reason" } ? stamped.setting("lastTransitionTime", to: .string(time)) : stamped
            case .array(let items): return .array(items.map(stamp))
            default: return value
            }
        }
        return stamp(status)
    }
}
