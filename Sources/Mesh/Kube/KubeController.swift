import Logging
import NIOCore
import MeshControlPlane
import MeshIdentity

/// `fsm controller --kubernetes`: the controller as a Kubernetes citizen. It joins the leader
/// election on a Lease, takes the mesh CA and the credential key from Secrets (the leader creates
/// them when missing), watches the cluster through `KubeClusterSource`, and serves configs and
/// certificates as with a manifest directory, plus `/metrics`, `/health/alive` and `/health/ready`
/// on the operations port (9091). Every replica serves; only the leader writes.
public final class KubeController: Sendable {
    public struct Settings: Sendable {
        /// Listeners, mesh name and namespace; the CA and credentials are filled in from the Secrets.
        public var controller: ControllerSettings
        public var leaseName: String
        public var election: LeaderElection
        public var informers: Informer.Settings
        /// The deadline of each API request (watches excepted).
        public var requestTimeout: TimeAmount
        /// Watch the Gateway API kinds and FSM Gateway's policies (`fsm.fsmGateway.enabled`).
        public var gateway = false
        /// Watch Ingresses and IngressBackends (`fsm.fsmIngress.enabled`).
        public var ingress = false
        /// Deploy the gateways (and the ingress, when `ingress` is set in it) and write their
        /// status; nil: their configs are served only.
        public var provisioning: GatewayProvisioningPlan.Settings?

        public init(controller: ControllerSettings, leaseName: String = "fsm-controller-leader", identity: String = LeaseElector.defaultIdentity(),
                    informers: Informer.Settings = Informer.Settings(), requestTimeout: TimeAmount = .seconds(30)) {
            self.controller = controller
            self.leaseName = leaseName
            self.election = LeaderElection(identity: identity)
            self.informers = informers
            self.requestTimeout = requestTimeout
        }
    }

    public let client: KubeClient
    public let elector: LeaseElector
    public let source: KubeClusterSource
    public let server: ControllerServer

    private init(client: KubeClient, elector: LeaseElector, source: KubeClusterSource, server: ControllerServer) {
        self.client = client
        self.elector = elector
        self.source = source
        self.server = server
    }

    /// Starts everything in order: election, secrets, informers, listeners. A failure stops what
    /// was started and throws.
    public static func start(connection: KubeConnection, settings: Settings, logger: Logger) async throws -> KubeController {
        let client = try KubeClient(connection: connection, requestTimeout: settings.requestTimeout, logger: logger)
        let namespace = settings.controller.controlPlaneNamespace
        let elector = LeaseElector(client: client, namespace: namespace, name: settings.leaseName, election: settings.election, logger: logger)
        elector.start()
        let source = KubeClusterSource(meshName: settings.controller.meshName, controlPlaneNamespace: namespace, gateway: settings.gateway, ingress: settings.ingress)
        do {
            let secrets = try await ControllerSecrets.load(client: client, namespace: namespace, isLeader: { elector.isLeader }, logger: logger)
            var controllerSettings = settings.controller
            controllerSettings.certificateAuthority = secrets.authority
            controllerSettings.credentials = secrets.credentials
            controllerSettings.accessCertStore = KubeAccessCertStore(client: client, isLeader: { elector.isLeader })
            if let provisioning = settings.provisioning {
                controllerSettings.gatewayProvisioner = KubeGatewayProvisioner(client: client, settings: provisioning, credentials: secrets.credentials,
                                                                               isLeader: { elector.isLeader }, logger: logger)
            }
            source.start(client: client, settings: settings.informers, logger: logger)
            let server = try await ControllerServer.start(source: source, settings: controllerSettings, logger: logger,
                                                          describing: "kubernetes \(connection.server) (\(connection.origin))")
            return KubeController(client: client, elector: elector, source: source, server: server)
        } catch {
            await source.stop()
            await elector.stop()
            await client.shutdown()
            throw error
        }
    }

    /// Stops serving, watching and leading (the lease is released), then closes the client.
    /// In order: what feeds the server (the informers) stops before the server's loop does, and
    /// the client they share last.
    public func shutdown() async {
        await source.stop()
        await server.shutdown()
        await elector.stop()
        await client.shutdown()
    }
}
