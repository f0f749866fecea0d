import Foundation
import MeshInject
import MeshModel
import Testing

/// The webhook's routes with bad input: every refusal says why, nothing is injected by accident.
@Suite struct AdmissionWebhookTests {
    static func handle(_ body: String, path: String = AdmissionWebhook.mutatePodPath, method: String = "POST",
                       contentType: String? = "application/json") throws -> WebhookStep {
        try GoldenAdmissionTests.webhook().handle(method: method, path: path, contentType: contentType, body: body,
                                                  cluster: GoldenAdmissionTests.cluster(), proxyUUID: "00000000-0000-4000-8000-000000000099")
    }

    static func answer(_ body: String, path: String = AdmissionWebhook.mutatePodPath, method: String = "POST",
                       contentType: String? = "application/json") throws -> WebhookAnswer {
        guard case .answer(let answer) = try handle(body, path: path, method: method, contentType: contentType) else {
            Issue.record("expected an answer, not a Secret to create")
            return WebhookAnswer(status: 0, body: "")
        }
        return answer
    }

    @Test(arguments: [
        ("", "malformed AdmissionReview: the body is not JSON: invalid JSON at byte 0: unexpected end of text\n"),
        ("{\"apiVersion\": \"admission.k8s.io/v1\"", "malformed AdmissionReview: the body is not JSON: invalid JSON at byte 36: unexpected end of text in an object\n"),
        ("[]", "malformed AdmissionReview: expected an AdmissionReview object, found an array\n"),
        ("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
         "malformed AdmissionReview: apiVersion: expected admission.k8s.io/v1, found \"admission.k8s.io/v1beta1\"\n"),
        ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}", "malformed AdmissionReview: kind: expected AdmissionReview, found \"Pod\"\n"),
        ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "malformed AdmissionReview: request: expected an object\n"),
        ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"}}}",
         "malformed AdmissionReview: request.uid: expected a non-empty string\n"),
        ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"namespace\":\"bookstore\"}}",
         "malformed AdmissionReview: request.object: expected the Pod object\n"),
        ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"object\":{},\"dryRun\":\"no\"}}",
         "malformed AdmissionReview: request.dryRun: expected a boolean\n"),
    ])
    func malformedReviewsGet400WithTheReason(_ body: String, _ reason: String) throws {
        let answer = try Self.answer(body)
        #expect(answer.status == 400)
        #expect(answer.body == reason)
    }

    @Test func wrongContentTypeMethodAndPath() throws {
        let body = try GoldenAdmissionTests.read("plain.request.json")
        #expect(try Self.answer(body, contentType: "text/yaml").status == 415)
        #expect(try Self.answer(body, contentType: nil).body == "invalid content type (none); expected application/json\n")
        guard case .createSecret = try Self.handle(body, contentType: "application/json; charset=utf-8") else {
            Issue.record("application/json with a charset was not accepted")
            return
        }
        #expect(try Self.answer(body, method: "GET").status == 405)
        #expect(try Self.answer(body, path: "/mutate").status == 404)
        #expect(try Self.answer("", path: "/healthz", method: "GET") == WebhookAnswer(status: 200, body: "ok\n"))
    }

    @Test func aPodThatIsNoPodIsRefusedNotInjected() throws {
        var review = try JSONValue(parsing: GoldenAdmissionTests.read("plain.request.json"))
        review = review.replacingForTest(["request", "object", "spec"], with: .object([("containers", .string("bookstore"))]))
        let response = try JSONValue(parsing: Self.answer(review.rendered()).body)
        #expect(response["response"]?["allowed"] == .bool(false))
        #expect(response["response"]?["status"]?["message"] == .string("the pod cannot be injected: spec.containers: expected at least one container"))
    }

    @Test func otherKindsAndOperationsPassUnchanged() throws {
        var review = try JSONValue(parsing: GoldenAdmissionTests.read("plain.request.json"))
        review = review.replacingForTest(["request", "operation"], with: .string("UPDATE"))
        let response = try JSONValue(parsing: Self.answer(review.rendered()).body)
        #expect(response["response"]?["allowed"] == .bool(true))
        #expect(response["response"]?["patch"] == nil)
    }

    @Test func aBadExclusionAnnotationRefusesThePodWithTheReason() throws {
        var review = try JSONValue(parsing: GoldenAdmissionTests.read("plain.request.json"))
        review = review.replacingForTest(["request", "object", "metadata", "annotations"],
                                         with: .object([("flomesh.io/outbound-port-exclusion-list", .string("6379,,7070"))]))
        let response = try JSONValue(parsing: Self.answer(review.rendered()).body)
        #expect(response["response"]?["allowed"] == .bool(false))
        #expect(response["response"]?["status"]?["message"] == .string(
            "the pod's traffic capture settings are invalid: pod annotation flomesh.io/outbound-port-exclusion-list: \"6379,,7070\" has an empty item; expected a comma-separated list"))
    }

    @Test func theFailurePolicyDecidesWhenTheSecretCannotBeCreated() throws {
        guard case .createSecret(_, let pending) = try Self.handle(GoldenAdmissionTests.read("plain.request.json")) else {
            Issue.record("expected a Secret to create")
            return
        }
        let refused = try JSONValue(parsing: pending.failed("creating Secret bookstore/x took longer than 5.0s").body)
        #expect(refused["response"]?["allowed"] == .bool(false))
        #expect(refused["response"]?["status"]?["message"] == .string(
            "fsm-injector could not inject the sidecar: creating Secret bookstore/x took longer than 5.0s (failurePolicy Fail)"))
        var ignoring = pending
        ignoring.failurePolicy = .ignore
        let admitted = try JSONValue(parsing: ignoring.failed("no API server").body)
        #expect(admitted["response"]?["allowed"] == .bool(true))
        #expect(admitted["response"]?["patch"] == nil)
        #expect(admitted["response"]?["warnings"] == .array([.string("fsm: the sidecar was not injected: no API server (failurePolicy Ignore)")]))
    }

    @Test func theMeshConfigWebhookAnswersWithTheGuidesText() throws {
        func review(_ spec: String) -> String {
            """
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"mc-1","kind":{"group":"config.flomesh.io","version":"v1alpha3","kind":"MeshConfig"},
             "namespace":"fsm-system","operation":"UPDATE","object":{"apiVersion":"config.flomesh.io/v1alpha3","kind":"MeshConfig",
             "metadata":{"name":"fsm-mesh-config","namespace":"fsm-system"},"spec":\(spec)}}}
            """
        }
        let bad = try JSONValue(parsing: Self.answer(review("{\"traffic\":{\"enableEgress\":\"string\"}}"), path: "/validate").body)
        #expect(bad["response"]?["allowed"] == .bool(false))
        #expect(bad["response"]?["status"]?["message"] == .string(
            "The MeshConfig \"fsm-mesh-config\" is invalid: spec.traffic.enableEgress: Invalid value: \"string\": spec.traffic.enableEgress in body must be of type boolean: \"string\""))
        #expect(bad["response"]?["status"]?["code"] == .int(422))
        let good = try JSONValue(parsing: Self.answer(review("{\"traffic\":{\"enableEgress\":true}}"), path: "/validate").body)
        #expect(good["response"]?["allowed"] == .bool(true))
        let quantity = try JSONValue(parsing: Self.answer(review("{\"sidecar\":{\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}}"), path: "/validate").body)
        #expect(quantity["response"]?["status"]?["message"] == .string(
            "The MeshConfig \"fsm-mesh-config\" is invalid: spec.sidecar.resources.limits.cpu: expected a Kubernetes quantity such as 100m, 64Mi or 1, found \"lots\""))
    }
}

extension JSONValue {
    /// This value with the member at `path` (object keys) replaced or added.
    func replacingForTest(_ path: [String], with value: JSONValue) -> JSONValue {
        guard let key = path.first else { return value }
        guard case .object(var pairs) = self else { return self }
        if let index = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[index].1 = pairs[index].1.replacingForTest(Array(path.dropFirst()), with: value)
        } else {
            pairs.append((key, JSONValue.object([]).replacingForTest(Array(path.dropFirst()), with: value)))
        }
        return .object(pairs)
    }
}
