import MeshKube
import MeshModel

/// Readiness as the API reports it, read from objects: a CRD `Established`, a Deployment
/// `Available` with every replica, a Pod `Ready`. Pure.
public enum RolloutStatus {
    /// The CRD's `Established` condition is `True`.
    public static func isEstablished(_ crd: JSONValue) -> Bool {
        condition("Established", of: crd) == "True"
    }

    /// nil when the Deployment is Available with all its replicas, else what is missing
    /// (`0 of 1 replicas available`).
    public static func deploymentProblem(_ deployment: JSONValue) -> String? {
        let wanted = integer(deployment["spec"]?["replicas"]) ?? 1
        let available = integer(deployment["status"]?["availableReplicas"]) ?? 0
        if condition("Available", of: deployment) == "True", available >= wanted { return nil }
        return "\(available) of \(wanted) replicas available"
    }

    /// The Pod's `Ready` condition is `True`.
    public static func isReady(pod: JSONValue) -> Bool {
        condition("Ready", of: pod) == "True"
    }

    /// The `status` of the condition of `type` in `status.conditions`, nil when absent.
    static func condition(_ type: String, of object: JSONValue) -> String? {
        guard case .array(let conditions)? = object["status"]?["conditions"] else { return nil }
        return conditions.first { $0["type"]?.stringValue == type }?["status"]?.stringValue
    }

    static func integer(_ value: JSONValue?) -> Int? {
        if case .int(let number)? = value { return Int(number) }
        return nil
    }
}
