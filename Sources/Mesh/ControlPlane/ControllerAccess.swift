import MeshControl
import MeshIdentity
import MeshModel
import NIOHTTP1

/// What a request to the controller's API is for, once its method and path are known.
public enum ControllerResource: Hashable, Sendable {
    /// `GET /healthz`, `GET /metrics`, `GET /v1/ca`: open to anyone (probes, Prometheus, the public root).
    case health, metrics, rootCertificate
    /// `GET /health/alive`, `GET /health/ready`: the guides' liveness and readiness probes, open.
    case alive, ready
    /// `GET /v1/pods`, `GET /v1/status`: the operator only.
    case podList, status
    /// `GET /v1/pods/<ns>/<pod>`: the operator or that pod.
    case pod(PodKey)
    /// `GET /v1/configs/<ns>/<pod>`, `POST /v1/certificates/<ns>/<pod>`: that pod only.
    case config(PodKey)
    case certificate(PodKey)
    /// `PUT /v1/pods/<ns>/<pod>/status`: the kubelet's role (`fsm supervise`) reports readiness; the operator only.
    case podStatus(PodKey)
    /// `GET /v1/gateways/<ns>/<gateway>`: that Gateway's config; its gateway only.
    case gatewayConfig(namespace: String, name: String)

    /// How a method and path parse.
    public enum Parsed: Equatable, Sendable {
        case resource(ControllerResource)
        case unknownPath
        /// The path exists for another method (named here).
        case wrongMethod(allowed: HTTPMethod)
    }

    /// The resource a method and path (no query) name.
    public static func parse(method: HTTPMethod, path: Substring) -> Parsed {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let resource = resource(parts) else { return .unknownPath }
        let allowed: HTTPMethod = switch resource {
        case .certificate: .POST
        case .podStatus: .PUT
        default: .GET
        }
        return method == allowed ? .resource(resource) : .wrongMethod(allowed: allowed)
    }

    private static func resource(_ parts: [String]) -> ControllerResource? {
        switch parts.count {
        case 1 where parts[0] == "healthz": return .health
        case 1 where parts[0] == "metrics": return .metrics
        case 2 where parts == ["v1", "ca"]: return .rootCertificate
        case 2 where parts == ["health", "alive"]: return .alive
        case 2 where parts == ["health", "ready"]: return .ready
        case 2 where parts == ["v1", "pods"]: return .podList
        case 2 where parts == ["v1", "status"]: return .status
        case 4 where parts[0] == "v1":
            let pod = PodKey(namespace: parts[2], name: parts[3])
            switch parts[1] {
            case "pods": return .pod(pod)
            case "configs": return .config(pod)
            case "certificates": return .certificate(pod)
            case "gateways": return .gatewayConfig(namespace: parts[2], name: parts[3])
            default: return nil
            }
        case 5 where parts[0] == "v1" && parts[1] == "pods" && parts[4] == "status":
            return .podStatus(PodKey(namespace: parts[2], name: parts[3]))
        default: return nil
        }
    }
}

/// Who may use which part of the controller's API: a pure decision over the resource and the
/// request's `Authorization` header values, which the server then carries out (answers and counts).
///
/// - open: `/healthz`, `/health/alive`, `/health/ready`, `/metrics`, `/v1/ca`;
/// - the operator credential: `/v1/pods`, `/v1/status`, any `/v1/pods/<ns>/<pod>`, and the
///   readiness reports `PUT /v1/pods/<ns>/<pod>/status`;
/// - a pod's own credential: its `/v1/pods/<ns>/<pod>`, `/v1/configs/<ns>/<pod>` and
///   `/v1/certificates/<ns>/<pod>` (configs and certificates go to that pod only, never to the operator);
/// - a gateway's own credential: its `/v1/gateways/<ns>/<gateway>` (its listeners' keys are in it).
///
/// No credential, a malformed one, or one this controller did not mint: 401 (with a
/// `www-authenticate: Bearer` challenge). A valid credential for someone else: 403.
public struct ControllerAccess: Sendable {
    public let credentials: CredentialAuthority

    public init(credentials: CredentialAuthority) {
        self.credentials = credentials
    }

    public enum Decision: Equatable, Sendable {
        /// Go ahead; the subject is nil for an open resource.
        case granted(CredentialSubject?)
        case refused(Refusal)
    }

    /// Why a request is refused, as counted in `fsm_api_refused_count{reason}`.
    public enum Reason: String, CaseIterable, Sendable {
        case missingCredential = "missing_credential"
        case malformedCredential = "malformed_credential"
        case invalidCredential = "invalid_credential"
        /// A pod's credential used for another pod.
        case otherPod = "other_pod"
        /// A pod's credential used where only the operator may go.
        case operatorOnly = "operator_only"
        /// The operator's credential used for a config or certificate.
        case podOnly = "pod_only"

        /// FSM's code for the condition: a proxy's credential whose proxy is not the pod asked
        /// about is E5002 (its fsm-proxy-uuid matches no such pod); the others have none.
        public var errorCode: MeshErrorCode? {
            self == .otherPod ? .known("E5002") : nil
        }

        /// 401 when the caller is not authenticated, 403 when it is but may not do this.
        public var status: HTTPResponseStatus {
            switch self {
            case .missingCredential, .malformedCredential, .invalidCredential: .unauthorized
            case .otherPod, .operatorOnly, .podOnly: .forbidden
            }
        }
    }

    public struct Refusal: Equatable, Sendable {
        public var reason: Reason
        /// The authenticated caller, when there is one (403s).
        public var subject: CredentialSubject?
        /// One line for the answer's body.
        public var message: String
    }

    /// `proxyUUID` says which `fsm-proxy-uuid` label a pod carries (nil: unknown pod or none): a
    /// credential the injection webhook minted for a uuid speaks for the pod labelled with it.
    public func decide(_ resource: ControllerResource, authorization: [String], proxyUUID: (PodKey) -> String? = { _ in nil }) -> Decision {
        guard let owner = Self.owner(of: resource) else { return .granted(nil) }
        let subject: CredentialSubject
        switch credentials.verify(authorization: authorization) {
        case .success(let verified): subject = verified
        case .failure(let rejection): return .refused(Self.unauthenticated(rejection))
        }
        switch (owner, subject) {
        case (.operatorOnly, .operator), (.operatorOrPod, .operator):
            return .granted(subject)
        case (.operatorOnly, .pod):
            return .refused(Refusal(reason: .operatorOnly, subject: subject, message: "\(subject) may not read this: it needs the operator credential"))
        case (.podOnly(let pod), .operator):
            return .refused(Refusal(reason: .podOnly, subject: subject, message: "configs and certificates of \(pod) go to its sidecar only, not to the operator"))
        case (.podOnly(let pod), .pod(let namespace, let name)), (.operatorOrPod(let pod), .pod(let namespace, let name)):
            guard pod == PodKey(namespace: namespace, name: name) else {
                return .refused(Refusal(reason: .otherPod, subject: subject, message: "\(subject) may not use the API of pod \(pod)"))
            }
            return .granted(subject)
        case (.podOnly(let pod), .proxy(let namespace, let uuid)), (.operatorOrPod(let pod), .proxy(let namespace, let uuid)):
            guard pod.namespace == namespace, let label = proxyUUID(pod), label == uuid else {
                return .refused(Refusal(reason: .otherPod, subject: subject, message: "\(subject) may not use the API of pod \(pod)"))
            }
            return .granted(subject)
        case (.operatorOnly, .proxy), (.operatorOnly, .gateway):
            return .refused(Refusal(reason: .operatorOnly, subject: subject, message: "\(subject) may not read this: it needs the operator credential"))
        case (.podOnly(let pod), .gateway), (.operatorOrPod(let pod), .gateway):
            return .refused(Refusal(reason: .otherPod, subject: subject, message: "\(subject) may not use the API of pod \(pod)"))
        case (.gatewayOnly(let namespace, let name), .gateway(let callerNamespace, let callerName)):
            guard namespace == callerNamespace, name == callerName else {
                return .refused(Refusal(reason: .otherPod, subject: subject, message: "\(subject) may not read the config of gateway \(namespace)/\(name)"))
            }
            return .granted(subject)
        case (.gatewayOnly(let namespace, let name), .operator):
            return .refused(Refusal(reason: .podOnly, subject: subject, message: "the config of gateway \(namespace)/\(name) goes to that gateway only, not to the operator"))
        case (.gatewayOnly(let namespace, let name), .pod), (.gatewayOnly(let namespace, let name), .proxy):
            return .refused(Refusal(reason: .otherPod, subject: subject, message: "\(subject) may not read the config of gateway \(namespace)/\(name)"))
        }
    }

    /// Who may use a resource; nil: anyone.
    private enum Owner {
        case operatorOnly
        case operatorOrPod(PodKey)
        case podOnly(PodKey)
        case gatewayOnly(namespace: String, name: String)
    }

    private static func owner(of resource: ControllerResource) -> Owner? {
        switch resource {
        case .health, .alive, .ready, .metrics, .rootCertificate: nil
        case .podList, .status, .podStatus: .operatorOnly
        case .pod(let pod): .operatorOrPod(pod)
        case .config(let pod), .certificate(let pod): .podOnly(pod)
        case .gatewayConfig(let namespace, let name): .gatewayOnly(namespace: namespace, name: name)
        }
    }

    private static func unauthenticated(_ rejection: CredentialRejection) -> Refusal {
        let reason: Reason = switch rejection {
        case .missing: .missingCredential
        case .malformed: .malformedCredential
        case .invalid: .invalidCredential
        }
        return Refusal(reason: reason, subject: nil, message: "\(rejection)")
    }

    /// The `www-authenticate` challenge of a 401 (RFC 6750).
    public static func challenge(for reason: Reason) -> String {
        reason == .missingCredential ? "Bearer realm=\"fsm-controller\"" : "Bearer realm=\"fsm-controller\", error=\"invalid_token\""
    }
}
