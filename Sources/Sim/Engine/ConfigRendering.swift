import MeshControl
import MeshModel

/// The configuration text a proxy receives (the controller's rendering, `fsm proxy get config_dump`).
func renderConfig(_ config: ProxyConfig, pretty: Bool) -> String {
    config.renderedJSON(pretty: pretty)
}
