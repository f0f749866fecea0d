/// The version of every binary this package builds (`fsm`, `sim`, `sim-real`, `bench`, each
/// `--version`) and of the image they ship in. `fsm install` labels every resource with it
/// (`app.kubernetes.io/version`) and `fsm version` reads it back from the controller's Deployment.
public enum MeshVersion {
    public static let current = "0.10.0"
}
