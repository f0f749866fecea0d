import MeshManifest
import MeshModel
import Testing

/// A Pod's `status.conditions` (its Ready condition decides whether it is an endpoint), and the
/// Retry resource's Envoy condition names.
@Suite struct PodStatusDecodingTests {
    static func pod(_ status: String) throws -> Pod {
        let resources = try ManifestDecoder.decode("""
        apiVersion: v1
        kind: Pod
        metadata: {name: store-0, namespace: shop}
        spec:
          containers: [{name: app, image: demo}]
        \(status)
        """, file: "pod.yaml")
        guard case .pod(let pod)? = resources.first?.resource else { throw PodStatusFailure() }
        return pod
    }

    @Test func conditionsDecideReadiness() throws {
        #expect(try Self.pod("").isReady)
        let notReady = try Self.pod("""
        status:
          podIP: 10.0.0.7
          conditions:
          - {type: PodScheduled, status: "True"}
          - {type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: "2024-01-01T00:00:00Z"}
        """)
        #expect(notReady.podIP == "10.0.0.7")
        #expect(notReady.conditions == [PodCondition(type: "PodScheduled", status: .true), PodCondition(type: "Ready", status: .false)])
        #expect(!notReady.isReady)
        #expect(!(try Self.pod("status: {conditions: [{type: Ready, status: Unknown}]}").isReady))
        var pod = try Self.pod("status: {conditions: [{type: Ready, status: \"True\"}]}")
        #expect(pod.isReady)
        pod.setReady(false)
        #expect(!pod.isReady && pod.conditions.count == 1)
    }

    @Test func aBadConditionIsAnErrorWithItsPosition() throws {
        do {
            _ = try Self.pod("status: {conditions: [{type: Ready, status: maybe}]}")
            Issue.record("decoded a condition with status maybe")
        } catch let error as ManifestError {
            #expect(error.path == "status.conditions[0].status")
            #expect(error.line == 6)
            #expect(error.message.contains("\"maybe\""))
        }
    }

    @Test func retryOnTakesEnvoysConditionNames() throws {
        let resources = try ManifestDecoder.decode("""
        kind: Retry
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: {name: r, namespace: curl}
        spec:
          source: {kind: ServiceAccount, name: curl, namespace: curl}
          destinations: [{kind: Service, name: httpbin, namespace: httpbin}]
          retryPolicy: {retryOn: "connect-failure, 503"}
        """, file: "retry.yaml")
        guard case .retry(let retry)? = resources.first?.resource else { throw PodStatusFailure() }
        #expect(retry.retryPolicy.retryOn == "connect-failure,503")
    }
}

private struct PodStatusFailure: Error {}
