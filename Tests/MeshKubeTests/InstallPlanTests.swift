import MeshInstall
import MeshKube
import MeshModel
import MeshOperate
import Testing

/// The order `fsm install` applies in, and how readiness is read from objects.
struct InstallPlanTests {
    @Test func theRenderedDocumentsGoInDependencyOrder() throws {
        let plan = try InstallPlan(documents: ControlPlaneManifests().documents())
        let kinds = plan.steps.map(\.type.kind)
        #expect(kinds.first == "Namespace")
        #expect(plan.steps.map(\.phase) == plan.steps.map(\.phase).sorted())
        let lastCRD = try #require(kinds.lastIndex(of: "CustomResourceDefinition"))
        #expect(kinds.prefix(lastCRD + 1).dropFirst().allSatisfy { $0 == "CustomResourceDefinition" })
        // The MeshConfig before the webhook that validates it, the Deployments before the webhooks.
        #expect(try #require(kinds.firstIndex(of: "MeshConfig")) < #require(kinds.firstIndex(of: "ValidatingWebhookConfiguration")))
        #expect(try #require(kinds.lastIndex(of: "Deployment")) < #require(kinds.firstIndex(of: "MutatingWebhookConfiguration")))
        #expect(try #require(kinds.lastIndex(of: "ClusterRoleBinding")) < #require(kinds.firstIndex(of: "Deployment")))
        #expect(plan.steps.first { $0.type == .deployments }?.label == "Deployment fsm-system/fsm-controller")
    }

    @Test func theGatewayAndIngressClassesAreAppliedAfterTheCRDsAreEstablished() throws {
        var values = InstallValues()
        try values.set("fsm.fsmGateway.enabled=true,fsm.fsmIngress.enabled=true")
        let plan = try InstallPlan(documents: ControlPlaneManifests(values: values).documents())
        let gatewayClass = try #require(plan.steps.first { $0.type == .gatewayClasses })
        #expect(gatewayClass.label == "GatewayClass fsm-gateway-cls")
        #expect(gatewayClass.phase > .customResourceDefinitions)
        #expect(plan.steps.first { $0.type == .ingressClasses }?.label == "IngressClass pipy")
    }

    @Test func aDocumentOfAnotherKindIsRefusedByName() {
        let job = JSONValue.object([("apiVersion", .string("batch/v1")), ("kind", .string("Job")), ("metadata", .object([("name", .string("x"))]))])
        #expect(throws: OperateError("fsm install: cannot apply a document of kind batch/v1 Job (named x)")) { try InstallPlan(documents: [job]) }
    }

    static func withStatus(_ spec: [(String, JSONValue)], _ status: [(String, JSONValue)]) -> JSONValue {
        .object([("spec", .object(spec)), ("status", .object(status))])
    }

    static func condition(_ type: String, _ status: String) -> JSONValue {
        .array([.object([("type", .string(type)), ("status", .string(status))])])
    }

    @Test func readinessIsReadFromConditionsAndReplicaCounts() {
        #expect(RolloutStatus.isEstablished(Self.withStatus([], [("conditions", Self.condition("Established", "True"))])))
        #expect(!RolloutStatus.isEstablished(Self.withStatus([], [("conditions", Self.condition("NamesAccepted", "True"))])))
        #expect(!RolloutStatus.isEstablished(.object([])))
        let available = Self.withStatus([("replicas", .int(2))], [("availableReplicas", .int(2)), ("conditions", Self.condition("Available", "True"))])
        #expect(RolloutStatus.deploymentProblem(available) == nil)
        let partly = Self.withStatus([("replicas", .int(2))], [("availableReplicas", .int(1)), ("conditions", Self.condition("Available", "True"))])
        #expect(RolloutStatus.deploymentProblem(partly) == "1 of 2 replicas available")
        #expect(RolloutStatus.deploymentProblem(Self.withStatus([], [])) == "0 of 1 replicas available")
        #expect(RolloutStatus.isReady(pod: Self.withStatus([], [("conditions", Self.condition("Ready", "True"))])))
        #expect(!RolloutStatus.isReady(pod: Self.withStatus([], [("conditions", Self.condition("Ready", "False"))])))
    }
}
