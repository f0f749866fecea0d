import Foundation
import MeshModel

/// An HTTP answer of the webhook server.
public struct WebhookAnswer: Hashable, Sendable {
    public var status: Int
    public var contentType: String
    public var body: String

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    static func review(_ review: JSONValue) -> WebhookAnswer {
        WebhookAnswer(status: 200, contentType: "application/json", body: review.rendered())
    }
}

/// What the webhook knows of the cluster: namespaces (from the informer, or a manifest directory)
/// and the mesh's current MeshConfig.
public protocol InjectorClusterView: Sendable {
    func namespace(named name: String) -> Namespace?
    func meshConfig() -> MeshConfig
}

/// An injection waiting for its credential Secret: the answer once the Secret exists, or the
/// failure policy's answer when it could not be created.
public struct PendingInjection: Hashable, Sendable {
    public var request: AdmissionRequest
    public var plan: InjectionPlan
    public var failurePolicy: FailurePolicy

    public func created() -> WebhookAnswer {
        .review(AdmissionReview.allowed(request, patch: plan.patch, warnings: plan.warnings))
    }

    /// `Fail`: the pod is refused; `Ignore`: admitted without a sidecar, with a warning.
    public func failed(_ reason: String) -> WebhookAnswer {
        switch failurePolicy {
        case .fail:
            return .review(AdmissionReview.denied(request, code: 500, reason: "InternalError",
                                                  message: "fsm-injector could not inject the sidecar: \(reason) (failurePolicy Fail)"))
        case .ignore:
            return .review(AdmissionReview.allowed(request, warnings: ["fsm: the sidecar was not injected: \(reason) (failurePolicy Ignore)"]))
        }
    }
}

/// What the shell does for one webhook request.
public enum WebhookStep: Hashable, Sendable {
    case answer(WebhookAnswer)
    /// Create the Secret (within the deadline), then answer `pending.created()`, or
    /// `pending.failed(reason)` when it could not be created.
    case createSecret(CredentialSecret, PendingInjection)
}

/// The injection webhook's HTTP routes, as a pure function of the request: `POST
/// /mutate-pod-creation` (AdmissionReview v1 of Pod CREATE; FSM's path), `POST /validate`
/// (MeshConfig CREATE/UPDATE) and `GET /healthz`. A body that is no AdmissionReview v1 gets 400
/// with the reason, a body that is not JSON-typed 415, unknown paths 404, wrong methods 405.
public struct AdmissionWebhook: Sendable {
    public static let mutatePodPath = "/mutate-pod-creation"
    public static let validatePath = "/validate"
    public static let healthPath = "/healthz"

    public let injector: PodInjector

    public init(injector: PodInjector) {
        self.injector = injector
    }

    public func handle(method: String, path: String, contentType: String?, body: String, cluster: some InjectorClusterView, proxyUUID: String) -> WebhookStep {
        let route = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        switch route {
        case Self.healthPath:
            guard method == "GET" else { return .answer(WebhookAnswer(status: 405, body: "only GET\n")) }
            return .answer(WebhookAnswer(status: 200, body: "ok\n"))
        case Self.mutatePodPath, Self.validatePath:
            guard method == "POST" else { return .answer(WebhookAnswer(status: 405, body: "only POST\n")) }
            guard Self.isJSON(contentType) else {
                return .answer(WebhookAnswer(status: 415, body: "invalid content type \(contentType ?? "(none)"); expected application/json\n"))
            }
            let request: AdmissionRequest
            do {
                request = try AdmissionReview.request(from: body)
            } catch {
                return .answer(WebhookAnswer(status: 400, body: "malformed AdmissionReview: \(error.reason)\n"))
            }
            if route == Self.validatePath { return .answer(.review(MeshConfigValidation.review(request))) }
            return mutate(request, cluster: cluster, proxyUUID: proxyUUID)
        default:
            return .answer(WebhookAnswer(status: 404, body: "unknown path\n"))
        }
    }

    private func mutate(_ request: AdmissionRequest, cluster: some InjectorClusterView, proxyUUID: String) -> WebhookStep {
        guard request.kind == "Pod", request.group.isEmpty, request.operation == "CREATE" else {
            return .answer(.review(AdmissionReview.allowed(request, warnings: ["fsm-injector changes only Pod CREATE requests; \(request.kind) \(request.operation) admitted unchanged"])))
        }
        let namespace = cluster.namespace(named: request.namespace)
        switch injector.inject(pod: request.object, namespace: request.namespace, namespaceObject: namespace, meshConfig: cluster.meshConfig(), proxyUUID: proxyUUID) {
        case .skipped:
            return .answer(.review(AdmissionReview.allowed(request)))
        case .refused(let message):
            return .answer(.review(AdmissionReview.denied(request, code: 400, reason: "BadRequest", message: message)))
        case .inject(let plan):
            let pending = PendingInjection(request: request, plan: plan, failurePolicy: injector.settings.failurePolicy)
            // A dry run has no side effects (sideEffects: NoneOnDryRun): no Secret.
            return request.dryRun ? .answer(pending.created()) : .createSecret(plan.secret, pending)
        }
    }

    /// `application/json`, with or without parameters.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return media == "application/json"
    }
}
