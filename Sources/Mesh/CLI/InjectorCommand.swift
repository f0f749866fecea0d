import ArgumentParser
import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshInject
import MeshInjector
import MeshModel

/// `fsm injector`: the sidecar injection webhook (`/mutate-pod-creation`) and the MeshConfig
/// validating webhook (`/validate`) over TLS. It shares the controller's CA and credential key
/// (the state directory), so the credentials it mints into each pod's Secret are the ones the
/// controller accepts. Until the Kubernetes informers feed it, it learns namespaces and the
/// MeshConfig from a manifest directory, and writes Secrets and the CA bundle as files.
struct InjectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "injector",
        abstract: "Run the sidecar injection webhook and the MeshConfig validating webhook (AdmissionReview v1 over TLS).",
        discussion: "Secrets are written to --writes-dir/secrets/<namespace>/<name>/credential (0600) and the CA bundle to --writes-dir/ca-bundle.pem."
    )

    @Option(help: "Address of the webhook, host:port.")
    var listen = "0.0.0.0:9090"

    @Option(help: "The mesh's name (namespaces labelled flomesh.io/monitored-by=<name> are injected).")
    var meshName = "fsm"

    @Option(help: "The control plane's namespace.")
    var fsmNamespace = "fsm-system"

    @Option(help: "The controller's state directory: the mesh CA and the credential key (created on first start when missing).")
    var stateDir = ".fsm-controller"

    @Option(help: "Directory of manifests holding the namespaces and the MeshConfig (re-read when a file changes).")
    var manifests: String

    @Option(help: "Namespaces to treat as `fsm namespace add`ed, comma-separated.")
    var meshNamespaces = ""

    @Option(help: "Where Secrets and the CA bundle are written (one-machine mode).")
    var writesDir = ".fsm-injector"

    @Option(help: "Image of the injected containers when MeshConfig's spec.sidecar.sidecarImage is empty.")
    var image = InjectorSettings.defaultImage

    @Option(help: "Path of the fsm binary inside that image.")
    var binaryPath = InjectorSettings.defaultBinaryPath

    @Option(help: "The controller's URL as sidecars reach it (default http://fsm-controller.<fsm namespace>.svc.cluster.local:6060).")
    var controllerURL: String?

    @Option(help: "When a pod cannot be patched (its Secret not created in time): Fail refuses it, Ignore admits it without a sidecar.")
    var failurePolicy: FailurePolicy = .fail

    @Option(help: "More DNS names for the webhook's certificate (beside fsm-injector.<fsm namespace>.svc and its longer forms).")
    var dnsName: [String] = []

    @Option(help: "IPv4 addresses for the webhook's certificate.")
    var ipAddress: [String] = []

    @Option(help: "Validity of the webhook's certificate (renewed once a third is left).")
    var certificateValidity = "8760h"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        let (host, port) = try DemoAppCommand.hostPort(listen, option: "--listen")
        guard let validity = MeshDuration(parsing: certificateValidity), validity >= .seconds(2) else {
            throw ValidationError("--certificate-validity must be a duration of at least 2s, such as 8760h")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: manifests, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--manifests \(manifests) is not a directory")
        }
        LoggingSystem.bootstrapStandardError(level: level)
        let logger = Logger(label: "fsm.injector")
        let state = ControllerStateDirectory(path: URL(fileURLWithPath: stateDir).standardizedFileURL.path)
        try state.prepare()
        let (authority, _) = try state.loadOrCreateCertificateAuthority(now: Date())
        let settings = InjectorSettings(meshName: meshName, controlPlaneNamespace: fsmNamespace, image: image, binaryPath: binaryPath,
                                        controllerURL: controllerURL, failurePolicy: failurePolicy)
        let webhook = AdmissionWebhook(injector: PodInjector(settings: settings, credentials: try state.loadOrCreateCredentialAuthority()))
        let cluster = SharedInjectorCluster(controlPlaneNamespace: fsmNamespace)
        let watcher = watchManifests(into: cluster, logger: logger)
        let serverSettings = InjectorServerSettings(host: host, port: port, meshName: meshName, controlPlaneNamespace: fsmNamespace,
                                                    extraDNSNames: dnsName, ipAddresses: ipAddress, certificateValidity: validity)
        let server = try await InjectorServer.start(settings: serverSettings, webhook: webhook, cluster: cluster,
                                                    writes: DirectoryInjectorWrites(directory: writesDir), authority: authority, logger: logger)
        await TerminationSignal.wait()
        watcher.cancel()
        await server.shutdown()
    }

    /// Polls the manifest directory each second (the first poll before the webhook listens).
    private func watchManifests(into cluster: SharedInjectorCluster, logger: Logger) -> Task<Void, Never> {
        let namespaces = Set(meshNamespaces.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        var source = ManifestClusterSource(path: manifests, meshNamespaces: namespaces, meshName: meshName)
        func poll(_ source: inout ManifestClusterSource) {
            let result = source.poll()
            for problem in result.newProblems { logger.error("manifest problem; the last good resources stay in force", metadata: ["problem": "\(problem)"]) }
            cluster.apply(result.changes)
        }
        poll(&source)
        return Task { [source] in
            var source = source
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                poll(&source)
            }
        }
    }
}

extension FailurePolicy: ExpressibleByArgument {}
