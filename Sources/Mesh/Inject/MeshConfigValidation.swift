import MeshManifest
import MeshModel

/// The validating webhook for MeshConfig: the object is decoded as the controller decodes it, and
/// a value of the wrong type is refused with the text the guide shows (F1-031):
/// `The MeshConfig "fsm-mesh-config" is invalid: spec.traffic.enableEgress: Invalid value: "string":
/// spec.traffic.enableEgress in body must be of type boolean: "string"`.
public enum MeshConfigValidation {
    /// The review's answer: admitted, or refused (422 `Invalid`) with the decoder's first error.
    public static func review(_ request: AdmissionRequest) -> JSONValue {
        guard request.kind == "MeshConfig", request.operation == "CREATE" || request.operation == "UPDATE" else {
            return AdmissionReview.allowed(request)
        }
        guard let message = problem(in: request.object) else { return AdmissionReview.allowed(request) }
        return AdmissionReview.denied(request, code: 422, reason: "Invalid", message: message)
    }

    /// The refusal text for a MeshConfig object, nil when it is valid.
    public static func problem(in object: JSONValue) -> String? {
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        do {
            // JSON is YAML: the manifest decoder reads it with Kubernetes-schema wording for types.
            _ = try ManifestDecoder.decode(object.rendered(pretty: true), file: "MeshConfig")
            return nil
        } catch {
            let field = error.path.isEmpty ? "" : "\(error.path): "
            return "The MeshConfig \"\(name)\" is invalid: \(field)\(error.message)"
        }
    }
}
