import ArgumentParser
import Dispatch
import Foundation
import Logging
import MeshSidecarCommand
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshInterceptor
import MeshKube
import MeshModel
import MeshRedirect
import MeshRuntime
import X509

@main
struct FSMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsm",
        abstract: "Swift service mesh: run the controller or a sidecar, query a sidecar's admin port, manage the mesh CA, run a demo mesh locally.",
        version: MeshVersion.current,
        subcommands: [ControllerCommand.self, SidecarCommand.self, GatewayCommand.self, EgressGatewayCommand.self, InjectorCommand.self, InitCommand.self, InterceptorCommand.self, ProxyCommand.self, CACommand.self, CredentialCommand.self,
                      UpCommand.self, DownCommand.self, SuperviseCommand.self, ContainerCommand.self, DemoAppCommand.self, InstallCommand.self,
                      UninstallCommand.self, NamespaceCommand.self, MetricsCommand.self, VersionCommand.self, SupportCommand.self]
    )
}

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run the controller: watch a manifest directory or a Kubernetes cluster, serve each proxy its config (long poll), and issue workload certificates from the mesh CA."
    )

    @Option(help: "Directory of *.yaml/*.yml manifests; re-read when a file changes (polled each second).")
    var manifests: String?

    @Flag(help: "Watch a Kubernetes API server instead of a manifest directory (namespaces labelled flomesh.io/monitored-by=<mesh-name>); the CA and credential key live in Secrets of --fsm-namespace, replicas elect a leader on a Lease.")
    var kubernetes = false

    @OptionGroup(title: "With --kubernetes")
    var kube: KubeOptions

    @Option(help: "The mesh's name (the value of flomesh.io/monitored-by that enrols a namespace).")
    var meshName = "fsm"

    @Option(help: "The control plane's namespace (MeshConfig, Secrets, the leader Lease).")
    var fsmNamespace = "fsm-system"

    @Flag(help: "With --kubernetes: watch the Gateway API kinds and FSM Gateway's policies (fsm.fsmGateway.enabled), deploy fsm-gateway-<namespace> for each Gateway namespace and write the status conditions.")
    var gateway = false

    @Flag(help: "With --kubernetes: watch Ingresses and IngressBackends (fsm.fsmIngress.enabled) and deploy fsm-ingress in --fsm-namespace.")
    var ingress = false

    @Option(help: "With --gateway or --ingress: the image of the gateway pods (the control plane's own).")
    var gatewayImage: String?

    @Option(help: "With --gateway or --ingress: the gateway pods' imagePullPolicy.")
    var gatewayImagePullPolicy = "IfNotPresent"

    @Option(help: "With --kubernetes: this replica's identity in the leader Lease (default: $POD_NAME or the host name, and a random suffix).")
    var leaderIdentity: String?

    @Option(help: "Address of the config API, host:port (default 127.0.0.1:6060; 0.0.0.0:6060 with --kubernetes).")
    var listen: String?

    @Option(help: "Address serving only /metrics, /health/alive and /health/ready, host:port (default 0.0.0.0:9091 with --kubernetes, none otherwise); 'none' turns it off.")
    var operationsListen: String?

    @Option(help: "Namespaces to treat as `fsm namespace add`ed, comma-separated.")
    var meshNamespaces = ""

    @Option(help: "First pod address (pods without one get the next address, in creation order).")
    var firstPodIP = "127.1.0.10"

    @Option(help: "First service cluster IP (services without one get the next address, in creation order).")
    var firstServiceIP = "127.2.0.10"

    @Option(help: "The mesh root CA certificate (PEM) the controller signs workload certificates with (with --ca-key).")
    var caCert: String?

    @Option(help: "The mesh root CA's private key (PEM).")
    var caKey: String?

    @Option(help: "State directory (created 0700): the CA (ca.crt, private.key, unless --ca-cert/--ca-key), the credential key (credential.key), each created on first start, and the operator's token (operator.token), written at each start.")
    var stateDir = ".fsm-controller"

    @Flag(help: "Issue a pod's certificate to requests from any address (not only from the pod's own).")
    var allowAnySourceAddress = false

    @Option(help: "Directory of pod objects as admission left them (what `fsm up --pods netns` writes): each replaces the pod of its name the manifests' workloads stamp out.")
    var admittedPods: String?

    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.")
    var logLevel = "info"

    func validate() throws {
        _ = try LoggingSystem.level(logLevel)
        if (caCert == nil) != (caKey == nil) { throw ValidationError("--ca-cert and --ca-key go together") }
        switch (manifests, kubernetes) {
        case (nil, false): throw ValidationError("give --manifests DIR or --kubernetes")
        case (.some, true): throw ValidationError("--manifests and --kubernetes exclude each other")
        case (nil, true):
            if caCert != nil { throw ValidationError("with --kubernetes the mesh CA lives in the Secret \(ControllerSecrets.caSecretName) of --fsm-namespace; --ca-cert/--ca-key do not apply") }
            if admittedPods != nil { throw ValidationError("--admitted-pods goes with --manifests (with --kubernetes the API server holds the admitted pods)") }
            if (gateway || ingress) && (gatewayImage ?? "").isEmpty { throw ValidationError("--gateway and --ingress need --gateway-image IMAGE (the image of the pods they deploy)") }
        case (.some, false):
            if kube.isGiven || leaderIdentity != nil { throw ValidationError("--kubeconfig, --context and --leader-identity go with --kubernetes") }
            if gateway || ingress || gatewayImage != nil {
                throw ValidationError("--gateway, --ingress and --gateway-image go with --kubernetes (with --manifests every gateway kind is read)")
            }
        }
    }

    /// `host:port` → its parts, or a one-line error naming the option.
    static func address(_ text: String, option: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port), colon > text.startIndex else {
            throw ValidationError("\(option) must be host:port, found \(text)")
        }
        return (String(text[..<colon]), port)
    }

    /// The CA from --ca-cert/--ca-key, or the one in the state directory (created on first start).
    func loadAuthority(_ state: ControllerStateDirectory, logger: Logger) throws -> MeshCertificateAuthority {
        if let caCert, let caKey {
            return try MeshCertificateAuthority(certificatePEM: readFile(URL(fileURLWithPath: caCert)), privateKeyPEM: readSecretFile(URL(fileURLWithPath: caKey)))
        }
        let (authority, created) = try state.loadOrCreateCertificateAuthority(now: Date())
        logger.notice(created ? "mesh CA created" : "mesh CA loaded", metadata: ["directory": "\(state.path)", "subject": "\(authority.certificate.subject)"])
        return authority
    }

    /// The credential key of the state directory (created on first start) and a new operator token beside it.
    func loadCredentials(_ state: ControllerStateDirectory, logger: Logger) throws -> CredentialAuthority {
        let credentials = try state.loadOrCreateCredentialAuthority()
        let tokenPath = try state.writeOperatorToken(with: credentials)
        logger.notice("operator token written", metadata: ["path": "\(tokenPath)"])
        return credentials
    }

    func run() async throws {
        let level = try LoggingSystem.level(logLevel)
        let api = try Self.address(listen ?? (kubernetes ? "0.0.0.0:6060" : "127.0.0.1:6060"), option: "--listen")
        let operationsText = operationsListen ?? (kubernetes ? "0.0.0.0:9091" : "none")
        let operations = operationsText == "none" ? nil : try Self.address(operationsText, option: "--operations-listen")
        guard let firstPod = AddressPlan.parse(firstPodIP), let firstService = AddressPlan.parse(firstServiceIP) else {
            throw ValidationError("--first-pod-ip and --first-service-ip must be IPv4 addresses")
        }
        if let manifests {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: manifests, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--manifests \(manifests) is not a directory")
            }
        }
        if let admittedPods {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: admittedPods, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--admitted-pods \(admittedPods) is not a directory")
            }
        }
        let connection = kubernetes ? try kube.connection() : nil
        LoggingSystem.bootstrapStandardError(level: level)
        let namespaces = Set(meshNamespaces.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        let logger = Logger(label: "fsm.controller")
        let state = ControllerStateDirectory(path: URL(fileURLWithPath: stateDir).standardizedFileURL.path)
        try state.prepare()
        var settings = ControllerSettings(
            host: api.host, port: api.port, meshNamespaces: namespaces,
            addressPlan: AddressPlan(firstPod: firstPod, firstService: firstService), verifyPodAddress: !allowAnySourceAddress,
            meshName: meshName, controlPlaneNamespace: fsmNamespace, operations: operations)
        if let connection {
            var kubeSettings = KubeController.Settings(controller: settings, identity: leaderIdentity ?? LeaseElector.defaultIdentity())
            kubeSettings.gateway = gateway
            kubeSettings.ingress = ingress
            if let gatewayImage, gateway || ingress {
                kubeSettings.provisioning = GatewayProvisioningPlan.Settings(meshName: meshName, controlPlaneNamespace: fsmNamespace, image: gatewayImage,
                                                                             imagePullPolicy: gatewayImagePullPolicy, ingress: ingress)
            }
            try await CommandLifecycle.run("controller", logger: logger) { [kubeSettings] in
                let controller: KubeController
                do {
                    controller = try await KubeController.start(connection: connection, settings: kubeSettings, logger: logger)
                } catch where NetworkErrorText.isListenFailure(error) {
                    throw CommandFailure(NetworkErrorText.listen(on: "\(api.host):\(api.port)", error, hint: "another fsm controller? Stop it or give --listen another address"))
                }
                let tokenPath = try state.writeOperatorToken(with: controller.server.credentials)
                logger.notice("operator token written", metadata: ["path": "\(tokenPath)"])
                return { await controller.shutdown() }
            }
            return
        }
        settings.certificateAuthority = try loadAuthority(state, logger: logger)
        settings.credentials = try loadCredentials(state, logger: logger)
        settings.accessCertStore = AccessCertFileStore(root: state.file(ControllerStateDirectory.accessCertDirectory), logger: logger)
        try await CommandLifecycle.run("controller", logger: logger) { [settings, manifests, admittedPods] in
            let server: ControllerServer
            do {
                let source = ManifestClusterSource(path: manifests ?? "", admittedPods: admittedPods, plan: settings.addressPlan,
                                                   meshNamespaces: settings.meshNamespaces, meshName: settings.meshName)
                server = try await ControllerServer.start(source: source, settings: settings, logger: logger, describing: manifests ?? "")
            } catch where NetworkErrorText.isListenFailure(error) {
                throw CommandFailure(NetworkErrorText.listen(on: "\(api.host):\(api.port)", error, hint: "another fsm controller or fsm up? Stop it or give --listen another address"))
            }
            return { await server.shutdown() }
        }
    }
}

