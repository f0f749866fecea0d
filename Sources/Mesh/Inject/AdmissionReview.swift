import MeshModel

/// The request half of an `admission.k8s.io/v1` AdmissionReview, as far as the webhooks read it.
public struct AdmissionRequest: Hashable, Sendable {
    public var uid: String
    /// `request.kind`: group, version, kind of the object (`""/v1/Pod`).
    public var group: String
    public var version: String
    public var kind: String
    /// `request.namespace`: a pod's namespace even when its `metadata.namespace` is still empty.
    public var namespace: String
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT`.
    public var operation: String
    /// `request.object`: the object as it will be stored (null for DELETE).
    public var object: JSONValue
    /// `request.dryRun`: no side effects (no credential Secret is created).
    public var dryRun: Bool

    public init(uid: String, group: String = "", version: String = "v1", kind: String, namespace: String, operation: String = "CREATE",
                object: JSONValue, dryRun: Bool = false) {
        self.uid = uid
        self.group = group
        self.version = version
        self.kind = kind
        self.namespace = namespace
        self.operation = operation
        self.object = object
        self.dryRun = dryRun
    }
}

/// Why a request body is no AdmissionReview v1 (answered 400 with this reason).
public struct AdmissionReviewError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// Reading requests and writing responses of `admission.k8s.io/v1` AdmissionReviews.
public enum AdmissionReview {
    public static let apiVersion = "admission.k8s.io/v1"
    public static let kind = "AdmissionReview"

    /// The request of a review body; the error names the first thing that is wrong.
    public static func request(from body: String) throws(AdmissionReviewError) -> AdmissionRequest {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: body)
        } catch {
            throw AdmissionReviewError("the body is not JSON: \(error)")
        }
        guard case .object = document else { throw AdmissionReviewError("expected an AdmissionReview object, found \(document.typeName)") }
        guard document["apiVersion"] == .string(apiVersion) else {
            throw AdmissionReviewError("apiVersion: expected \(apiVersion), found \(document["apiVersion"]?.shortText ?? "nothing")")
        }
        guard document["kind"] == .string(kind) else {
            throw AdmissionReviewError("kind: expected \(kind), found \(document["kind"]?.shortText ?? "nothing")")
        }
        guard let request = document["request"], case .object = request else { throw AdmissionReviewError("request: expected an object") }
        return try decode(request)
    }

    private static func decode(_ request: JSONValue) throws(AdmissionReviewError) -> AdmissionRequest {
        guard case .string(let uid)? = request["uid"], !uid.isEmpty else { throw AdmissionReviewError("request.uid: expected a non-empty string") }
        guard let kind = request["kind"], case .string(let kindName)? = kind["kind"], case .string(let version)? = kind["version"] else {
            throw AdmissionReviewError("request.kind: expected {group, version, kind}")
        }
        var group = ""
        if case .string(let value)? = kind["group"] { group = value }
        guard case .string(let operation)? = request["operation"] else { throw AdmissionReviewError("request.operation: expected a string") }
        var namespace = ""
        if case .string(let value)? = request["namespace"] { namespace = value }
        let object = request["object"] ?? .null
        if operation == "CREATE" || operation == "UPDATE" {
            guard case .object = object else { throw AdmissionReviewError("request.object: expected the \(kindName) object") }
        }
        var dryRun = false
        switch request["dryRun"] {
        case .bool(let value)?: dryRun = value
        case nil, .null?: break
        default: throw AdmissionReviewError("request.dryRun: expected a boolean")
        }
        return AdmissionRequest(uid: uid, group: group, version: version, kind: kindName, namespace: namespace, operation: operation,
                                object: object, dryRun: dryRun)
    }

    /// A response that admits the object, changed by `patch` when it is not empty.
    public static func allowed(_ request: AdmissionRequest, patch: JSONPatch = JSONPatch(), warnings: [String] = []) -> JSONValue {
        var response: [(String, JSONValue)] = [("uid", .string(request.uid)), ("allowed", .bool(true))]
        if !patch.operations.isEmpty {
            response.append(("patchType", .string("JSONPatch")))
            response.append(("patch", .string(Base64.encode(Array(patch.json.rendered().utf8)))))
        }
        if !warnings.isEmpty { response.append(("warnings", .array(warnings.map(JSONValue.string)))) }
        return review(.object(response))
    }

    /// A response that refuses the object with an HTTP-like code and a message (what `kubectl`
    /// shows after "admission webhook ... denied the request:").
    public static func denied(_ request: AdmissionRequest, code: Int, reason: String, message: String) -> JSONValue {
        let status: JSONValue = .object([
            ("status", .string("Failure")), ("message", .string(message)), ("reason", .string(reason)), ("code", .int(code)),
        ])
        return review(.object([("uid", .string(request.uid)), ("allowed", .bool(false)), ("status", status)]))
    }

    private static func review(_ response: JSONValue) -> JSONValue {
        .object([("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("response", response)])
    }
}

extension JSONValue {
    /// `object`, `array`, `string`, ... for messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A value for an error message: strings quoted, anything else by its type.
    var shortText: String {
        if case .string(let text) = self { return JSONValue.string(String(text.prefix(64))).rendered() }
        return typeName
    }

    /// The string members of an object (labels, annotations); nil when this is no such object.
    var stringMap: [String: String]? {
        guard case .object(let pairs) = self else { return nil }
        var result: [String: String] = [:]
        for (key, value) in pairs {
            guard case .string(let text) = value else { return nil }
            result[key] = text
        }
        return result
    }

    var arrayItems: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    var stringValue: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }
}
