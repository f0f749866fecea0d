import ArgumentParser
import Foundation
import Logging
import MeshSidecarCommand
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshInject
import MeshInjector
import MeshKube
import MeshModel
import MeshOperate

/// `fsm injector`: the sidecar injection webhook (`/mutate-pod-creation`) and the MeshConfig
/// validating webhook (`/validate`) over TLS. It shares the controller's CA and credential key
/// (the Secrets `fsm-ca-bundle` and `fsm-credential-key` with `--kubernetes`, else the state
/// directory), so the credentials it mints into each pod's Secret are the ones the controller
/// accepts. With `--kubernetes` it watches namespaces and the MeshConfig through informers and
/// writes Secrets and the webhooks' `caBundle` through the API; with `--manifests` it reads them
/// from a directory and writes files.
struct InjectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "injector",
        abstract: "Run the sidecar injection webhook and the MeshConfig validating webhook (AdmissionReview v1 over TLS).",
        discussion: "With --manifests, Secrets are written to --writes-dir/secrets/<namespace>/<name>/credential (0600) and the CA bundle to --writes-dir/ca-bundle.pem."
    )

    @Option(help: "Address of the webhook, host:port.")
    var listen = "0.0.0.0:9090"

    @Option(help: "The mesh's name (namespaces labelled flomesh.io/monitored-by=<name> are injected).")
    var meshName = "fsm"

    @Option(help: "The control plane's namespace.")
    var fsmNamespace = "fsm-system"

    @Flag(help: "Watch a Kubernetes API server: namespaces and the MeshConfig by informers, the mesh CA and credential key from the Secrets of --fsm-namespace (the controller creates them), pods' Secrets and the webhooks' caBundle written through the API.")
    var kubernetes = false

    @OptionGroup(title: "With --kubernetes")
    var kube: KubeOptions

    @Option(help: "With --manifests: the controller's state directory, the mesh CA and the credential key (created on first start when missing).")
    var stateDir: String?

    @Option(help: "Directory of manifests holding the namespaces and the MeshConfig (re-read when a file changes).")
    var manifests: String?

    @Option(help: "With --manifests: namespaces to treat as `fsm namespace add`ed, comma-separated.")
    var meshNamespaces = ""

    @Option(help: "With --manifests: where Secrets and the CA bundle are written.")
    var writesDir: String?

    @Option(help: "Image of the injected containers when MeshConfig's spec.sidecar.sidecarImage is empty.")
    var image = InjectorSettings.defaultImage

    @Option(help: "Path of the fsm binary inside that image (the init container runs it).")
    var binaryPath = InjectorSettings.defaultBinaryPath

    @Option(help: "Path of the sidecar's binary inside that image (fsm-sidecar; fsm works too).")
    var sidecarBinaryPath = InjectorSettings.defaultSidecarBinaryPath

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

    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.")
    var logLevel = "info"

    func validate() throws {
        switch (manifests, kubernetes) {
        case (nil, false): throw ValidationError("give --manifests DIR or --kubernetes")
        case (.some, true): throw ValidationError("--manifests and --kubernetes exclude each other")
        case (nil, true):
            if stateDir != nil || writesDir != nil || !meshNamespaces.isEmpty {
                throw ValidationError("--state-dir, --writes-dir and --mesh-namespaces go with --manifests")
            }
        case (.some(let directory), false):
            if kube.isGiven { throw ValidationError("--kubeconfig and --context go with --kubernetes") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--manifests \(directory) is not a directory")
            }
        }
    }

    func run() async throws {
        let level = try LoggingSystem.level(logLevel)
        let (host, port) = try DemoAppCommand.hostPort(listen, option: "--listen")
        guard let validity = MeshDuration(parsing: certificateValidity), validity >= .seconds(2) else {
            throw ValidationError("--certificate-validity must be a duration of at least 2s, such as 8760h")
        }
        let connection = kubernetes ? try kube.connection() : nil
        LoggingSystem.bootstrapStandardError(level: level)
        let logger = Logger(label: "fsm.injector")
        let serverSettings = InjectorServerSettings(host: host, port: port, meshName: meshName, controlPlaneNamespace: fsmNamespace,
                                                    extraDNSNames: dnsName, ipAddresses: ipAddress, certificateValidity: validity)
        let cluster = SharedInjectorCluster(controlPlaneNamespace: fsmNamespace)
        if let connection {
            try await runWatchingCluster(connection, cluster: cluster, serverSettings: serverSettings, logger: logger)
            return
        }
        let state = ControllerStateDirectory(path: URL(fileURLWithPath: stateDir ?? ".fsm-controller").standardizedFileURL.path)
        try state.prepare()
        let (authority, _) = try state.loadOrCreateCertificateAuthority(now: Date())
        let webhook = AdmissionWebhook(injector: PodInjector(settings: injectorSettings, credentials: try state.loadOrCreateCredentialAuthority()))
        try await CommandLifecycle.run("injector", logger: logger) { [self, manifests, writesDir] in
            let watcher = watchManifests(manifests ?? "", into: cluster, logger: logger)
            let server = try await InjectorServer.start(settings: serverSettings, webhook: webhook, cluster: cluster,
                                                        writes: DirectoryInjectorWrites(directory: writesDir ?? ".fsm-injector"), authority: authority, logger: logger)
            return {
                watcher.cancel()
                await server.shutdown()
            }
        }
    }

    var injectorSettings: InjectorSettings {
        InjectorSettings(meshName: meshName, controlPlaneNamespace: fsmNamespace, image: image, binaryPath: binaryPath, sidecarBinaryPath: sidecarBinaryPath,
                         controllerURL: controllerURL, failurePolicy: failurePolicy)
    }

    /// `--kubernetes`: the mesh secrets (waiting for the controller to create them), the informers
    /// (synced before the webhook listens, so no pod is judged on an empty cluster), the server.
    private func runWatchingCluster(_ connection: KubeConnection, cluster: SharedInjectorCluster, serverSettings: InjectorServerSettings,
                                    logger: Logger) async throws {
        let client = try KubeClient(connection: connection, logger: logger)
        let informers = InjectorInformers(cluster: cluster, controlPlaneNamespace: fsmNamespace)
        let namespace = fsmNamespace, injectorSettings = injectorSettings
        try await CommandLifecycle.run("injector", logger: logger) {
            do {
                let secrets = try await ControllerSecrets.load(client: client, namespace: namespace, isLeader: { false }, logger: logger)
                informers.start(client: client, logger: logger)
                while !informers.isSynced { try await Task.sleep(for: .milliseconds(50)) }
                let webhook = AdmissionWebhook(injector: PodInjector(settings: injectorSettings, credentials: secrets.credentials))
                let server = try await InjectorServer.start(settings: serverSettings, webhook: webhook, cluster: cluster,
                                                            writes: KubeInjectorWrites(client: client), authority: secrets.authority, logger: logger)
                return {
                    await server.shutdown()
                    await informers.stop()
                    await client.shutdown()
                }
            } catch {
                await informers.stop()
                await client.shutdown()
                throw error
            }
        }
    }

    /// Polls the manifest directory each second (the first poll before the webhook listens).
    private func watchManifests(_ manifests: String, into cluster: SharedInjectorCluster, logger: Logger) -> Task<Void, Never> {
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
