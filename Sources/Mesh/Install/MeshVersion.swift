/// The version of the `fsm` binary and of the image it ships in. `fsm install` labels every
/// resource with it (`app.kubernetes.io/version`) and `fsm version` reads it back from the
/// controller's Deployment.
public enum MeshVersion {
    public static let current = "0.10.0"
}
