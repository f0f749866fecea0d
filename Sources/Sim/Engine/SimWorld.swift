import MeshControl
import MeshModel
import MeshProxy

/// IPv4 addresses as integers, so that the hot path maps an endpoint to a pod without hashing strings.
enum IPv4 {
    static func parse(_ text: String) -> UInt32? {
        var value: UInt32 = 0, part: UInt32 = 0, parts = 0, digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | part
                part = 0; digits = 0; parts += 1
            } else if byte >= 48 && byte <= 57 {
                part = part * 10 + UInt32(byte - 48)
                digits += 1
                guard part <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | part
    }

    static func format(_ ip: UInt32) -> String {
        "\(ip >> 24).\((ip >> 16) & 255).\((ip >> 8) & 255).\(ip & 255)"
    }

    /// 10.96.0.0/16 for services, 10.244.0.0/16 for pods; numbering starts at .10.
    static func service(_ n: Int) -> UInt32 { (10 << 24 | 96 << 16) + UInt32(n + 10) }
    static func pod(_ n: Int) -> UInt32 { (10 << 24 | 244 << 16) + UInt32(n + 10) }
}

/// A Deployment, StatefulSet or bare Pod: the unit apps, backends and results are named by.
struct SimDeployment {
    var namespace: String
    var name: String
    /// nil for a bare Pod.
    var workload: Workload?
    var app: AppBehavior
    var pods: [Int] = []
    /// Deleted by a step: its pods are gone for good.
    var deleted = false
}

struct SimPod {
    var key: PodKey
    var deployment: Int
    var resource: Pod
    var ip: UInt32
    var ipText: String
    var alive = true
    /// Bumped at every kill and restart: events addressed to an older incarnation are dropped.
    var incarnation: Int32 = 0
    /// Removed for good (workload deleted or scaled down).
    var removed = false
    var hasSidecar = false
    /// The serviceIdentity of the applied config (nil: no sidecar or no config yet).
    var identity: String?
    var app: AppState
    /// Response headers the app sends (Identity), built once.
    var responseHeaders: [HTTPHeader]
    var labels: [String: String] { resource.metadata.labels }
}

struct SimService {
    var resource: Service
    /// 0 for headless services.
    var ip: UInt32
    var ipText: String
    var headless: Bool { ip == 0 }
    var namespace: String { resource.metadata.namespace }
    var name: String { resource.metadata.name }
    /// Round-robin cursor of the kube-proxy view (unmeshed clients).
    var nextEndpoint = 0
    var deleted = false
}

extension Pod {
    var containerPortsByName: [String: Int] {
        var ports: [String: Int] = [:]
        for container in spec.containers {
            for port in container.ports { if let name = port.name { ports[name] = port.containerPort } }
        }
        return ports
    }
}

func labelsMatch(_ selector: [String: String], _ labels: [String: String]) -> Bool {
    guard !selector.isEmpty else { return false }
    for (key, value) in selector where labels[key] != value { return false }
    return true
}
