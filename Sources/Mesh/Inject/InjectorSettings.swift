import MeshControl
import MeshModel

/// What the injection webhook does when it cannot patch a pod it should (a credential Secret it
/// could not create, a deadline passed): Kubernetes' `failurePolicy` of the
/// MutatingWebhookConfiguration, which the webhook itself follows too, so that an answer and no
/// answer mean the same thing.
public enum FailurePolicy: String, Hashable, Sendable, CaseIterable {
    /// Refuse the pod (FSM's choice: a pod in the mesh without a sidecar would bypass policy).
    case fail = "Fail"
    /// Admit the pod unchanged, with a warning.
    case ignore = "Ignore"
}

/// How the webhook injects: the mesh it serves and what the injected containers run.
public struct InjectorSettings: Hashable, Sendable {
    public var meshName: String
    public var controlPlaneNamespace: String
    /// The image holding the `fsm` binary, used when MeshConfig's `spec.sidecar.sidecarImage` is empty.
    public var image: String
    /// Where the image keeps the binary (the init container runs `fsm init`).
    public var binaryPath: String
    /// Where the image keeps the sidecar's own binary, `fsm-sidecar` (DECISIONS 270): the sidecar
    /// container runs `<sidecarBinaryPath> sidecar`, which `fsm` takes as well.
    public var sidecarBinaryPath: String
    public var imagePullPolicy: String
    /// The controller's config API as sidecars reach it.
    public var controllerURL: String
    public var failurePolicy: FailurePolicy

    public static let defaultImage = "flomesh/swift-mesh:latest"
    public static let defaultBinaryPath = "/usr/local/bin/fsm"
    public static let defaultSidecarBinaryPath = "/usr/local/bin/fsm-sidecar"

    public init(meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system", image: String = InjectorSettings.defaultImage,
                binaryPath: String = InjectorSettings.defaultBinaryPath, sidecarBinaryPath: String = InjectorSettings.defaultSidecarBinaryPath,
                imagePullPolicy: String = "IfNotPresent",
                controllerURL: String? = nil, failurePolicy: FailurePolicy = .fail) {
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
        self.image = image
        self.binaryPath = binaryPath
        self.sidecarBinaryPath = sidecarBinaryPath
        self.imagePullPolicy = imagePullPolicy
        self.controllerURL = controllerURL ?? "http://fsm-controller.\(controlPlaneNamespace).svc.cluster.local:6060"
        self.failurePolicy = failurePolicy
    }

    /// The image the injected containers run with this MeshConfig.
    public func image(for meshConfig: MeshConfig) -> String {
        meshConfig.sidecar.sidecarImage.isEmpty ? image : meshConfig.sidecar.sidecarImage
    }

    public var rule: InjectionRule { InjectionRule(meshName: meshName, controlPlaneNamespace: controlPlaneNamespace) }
}
