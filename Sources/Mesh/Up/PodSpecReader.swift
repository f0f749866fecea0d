import MeshModel

/// Reads the parts of a pod object the kubelet acts on, with each problem named by its field.
struct PodSpecReader {
    var pod: JSONValue

    enum ContainerOutcome {
        case run(ContainerLaunch)
        /// The container cannot run on this machine: `name: why`.
        case notRun(String)
    }

    var key: String { "\(metadata("namespace") ?? "default")/\(metadata("name") ?? "?")" }

    func problem(_ field: String, _ message: String) -> PodSpecProblem {
        PodSpecProblem(pod: key, field: field, message: message)
    }

    func metadata(_ key: String) -> String? { pod["metadata"]?[key]?.stringValue }

    func requiredName() throws(PodSpecProblem) -> String {
        guard let name = metadata("name"), !name.isEmpty else { throw problem("metadata.name", "expected the pod's name") }
        return name
    }

    func spec() throws(PodSpecProblem) -> JSONValue {
        guard let spec = pod["spec"], case .object = spec else { throw problem("spec", "expected an object") }
        guard let containers = spec["containers"]?.arrayItems, !containers.isEmpty else { throw problem("spec.containers", "expected at least one container") }
        if spec["hostNetwork"]?.boolValue == true { throw problem("spec.hostNetwork", "a host-network pod has no network namespace of its own to run in") }
        return spec
    }

    /// `spec.volumes`: Secrets the injector made, and emptyDirs; anything else is named as unsupported.
    func volumes(_ spec: JSONValue, context: PodLaunchPlan.Context) throws(PodSpecProblem) -> [PodLaunchPlan.Volume] {
        var volumes: [PodLaunchPlan.Volume] = []
        for (index, volume) in (spec["volumes"]?.arrayItems ?? []).enumerated() {
            let field = "spec.volumes[\(index)]"
            guard let name = volume["name"]?.stringValue, !name.isEmpty else { throw problem(field + ".name", "expected the volume's name") }
            let source: PodLaunchPlan.Volume.Source
            if let secret = volume["secret"] {
                guard let secretName = secret["secretName"]?.stringValue else { throw problem(field + ".secret.secretName", "expected a Secret's name") }
                guard context.secrets.contains(secretName) else {
                    throw problem(field + ".secret", "Secret \(secretName) does not exist here (fsm up has only the Secrets the injector creates)")
                }
                source = .secret(secretName)
            } else if volume["emptyDir"] != nil {
                source = .emptyDir
            } else {
                let kind = volume.objectKeys.first { $0 != "name" } ?? "none"
                throw problem(field, "volume \(name): a \(kind) volume is not supported on one machine (secret and emptyDir are)")
            }
            let hostPath = context.podDirectory + "/volumes/" + name
            volumes.append(PodLaunchPlan.Volume(name: name, source: source, hostPath: hostPath, owner: (0, 0)))
        }
        return volumes
    }

    /// One container: its program (or why it cannot run here), environment, user, mounts and probes.
    func container(_ container: JSONValue, path: String, spec: JSONValue, downward: DownwardAPI, volumes: [PodLaunchPlan.Volume],
                   context: PodLaunchPlan.Context) throws(PodSpecProblem) -> ContainerOutcome {
        guard let name = container["name"]?.stringValue, !name.isEmpty else { throw problem(path + ".name", "expected the container's name") }
        let image = container["image"]?.stringValue ?? ""
        let environment = try self.environment(container, path: path, downward: downward)
        let variables = Dictionary(environment.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        let written = try strings(container["command"], path: path + ".command") + strings(container["args"], path: path + ".args")
        let argv: [String]
        if image == context.meshImage {
            guard !written.isEmpty else { throw problem(path + ".command", "expected the program the mesh image runs") }
            argv = written
        } else if let app = context.apps[name] {
            argv = app
        } else {
            return .notRun("\(name): image \(image.isEmpty ? "(none)" : image) has no program on this machine")
        }
        let (user, group, noNewPrivileges) = try security(container, path: path, spec: spec)
        var mounts = try self.mounts(container, path: path, volumes: volumes)
        if let hostsFile = context.hostsFile { mounts.append(ContainerMount(source: hostsFile, path: "/etc/hosts", readOnly: true)) }
        var probes: [ContainerProbe] = []
        for kind in ContainerProbe.Kind.allCases {
            if let probe = try self.probe(kind, of: container, path: path) { probes.append(probe) }
        }
        return .run(ContainerLaunch(
            name: name, image: image, argv: argv.map { VariableExpansion.expand($0) { variables[$0] } },
            environment: environment.map { "\($0.name)=\($0.value)" }, user: user, group: group, noNewPrivileges: noNewPrivileges,
            mounts: mounts, probes: probes))
    }

    private func strings(_ value: JSONValue?, path: String) throws(PodSpecProblem) -> [String] {
        guard let value, value != .null else { return [] }
        guard let items = value.arrayItems else { throw problem(path, "expected a list of strings") }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else { throw problem("\(path)[\(index)]", "expected a string") }
            result.append(text)
        }
        return result
    }

    /// `env`, in order, each value expanded against the variables before it (as the kubelet does).
    private func environment(_ container: JSONValue, path: String, downward: DownwardAPI) throws(PodSpecProblem) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var defined: [String: String] = [:]
        for (index, variable) in (container["env"]?.arrayItems ?? []).enumerated() {
            let field = "\(path).env[\(index)]"
            guard let name = variable["name"]?.stringValue, !name.isEmpty, !name.contains("=") else { throw problem(field + ".name", "expected a variable name") }
            let value: String
            if let from = variable["valueFrom"] {
                guard let fieldPath = from["fieldRef"]?["fieldPath"]?.stringValue else {
                    let kind = from.objectKeys.first ?? "nothing"
                    throw problem(field + ".valueFrom", "\(kind) is not supported on one machine (fieldRef is)")
                }
                guard let resolved = downward.value(fieldPath) else {
                    throw problem(field + ".valueFrom.fieldRef.fieldPath", "\(fieldPath) is not a field the downward API offers")
                }
                value = resolved
            } else {
                value = VariableExpansion.expand(variable["value"]?.stringValue ?? "") { defined[$0] }
            }
            defined[name] = value
            result.append((name, value))
        }
        return result
    }

    /// The user, group and no_new_privs: the container's securityContext, else the pod's.
    private func security(_ container: JSONValue, path: String, spec: JSONValue) throws(PodSpecProblem) -> (Int, Int, Bool) {
        let own = container["securityContext"], pod = spec["securityContext"]
        func setting(_ key: String) throws(PodSpecProblem) -> Int? {
            guard let value = own?[key] ?? pod?[key], value != .null else { return nil }
            guard let number = value.intValue, (0...Int(Int32.max)).contains(number) else { throw problem("\(path).securityContext.\(key)", "expected a user or group id") }
            return number
        }
        let user = try setting("runAsUser") ?? 0
        let group = try setting("runAsGroup") ?? 0
        let nonRoot = (own?["runAsNonRoot"] ?? pod?["runAsNonRoot"])?.boolValue ?? false
        if nonRoot && user == 0 {
            throw problem("\(path).securityContext.runAsNonRoot", "the container must not run as root but names no runAsUser (the kubelet refuses it too)")
        }
        return (user, group, own?["allowPrivilegeEscalation"]?.boolValue == false)
    }

    private func mounts(_ container: JSONValue, path: String, volumes: [PodLaunchPlan.Volume]) throws(PodSpecProblem) -> [ContainerMount] {
        var mounts: [ContainerMount] = []
        for (index, mount) in (container["volumeMounts"]?.arrayItems ?? []).enumerated() {
            let field = "\(path).volumeMounts[\(index)]"
            guard let name = mount["name"]?.stringValue, let volume = volumes.first(where: { $0.name == name }) else {
                throw problem(field + ".name", "names no volume of the pod")
            }
            guard let mountPath = mount["mountPath"]?.stringValue, mountPath.hasPrefix("/"), mountPath != "/", !mountPath.contains(":") else {
                throw problem(field + ".mountPath", "expected an absolute path other than /, without ':'")
            }
            if mount["subPath"] != nil { throw problem(field + ".subPath", "subPath mounts are not supported on one machine") }
            mounts.append(ContainerMount(source: volume.hostPath, path: mountPath, readOnly: mount["readOnly"]?.boolValue ?? false))
        }
        return mounts
    }

    /// A probe as the kubelet runs it; named ports are looked up in the container's ports.
    private func probe(_ kind: ContainerProbe.Kind, of container: JSONValue, path: String) throws(PodSpecProblem) -> ContainerProbe? {
        guard let probe = container[kind.fieldName], probe != .null else { return nil }
        let field = "\(path).\(kind.fieldName)"
        func number(_ key: String, _ fallback: Int, minimum: Int) throws(PodSpecProblem) -> Int {
            guard let value = probe[key], value != .null else { return fallback }
            guard let number = value.intValue, number >= minimum else { throw problem("\(field).\(key)", "expected a whole number of at least \(minimum)") }
            return number
        }
        let action: ContainerProbe.Action
        if let get = probe["httpGet"] {
            let headers = (get["httpHeaders"]?.arrayItems ?? []).map { ContainerProbe.Header(name: $0["name"]?.stringValue ?? "", value: $0["value"]?.stringValue ?? "") }
            action = .http(port: try port(get["port"], of: container, field: field + ".httpGet.port"), path: get["path"]?.stringValue ?? "/",
                           scheme: (get["scheme"]?.stringValue ?? "HTTP").uppercased(), headers: headers)
        } else if let socket = probe["tcpSocket"] {
            action = .tcp(port: try port(socket["port"], of: container, field: field + ".tcpSocket.port"))
        } else {
            action = .unsupported(probe.objectKeys.first { ["exec", "grpc"].contains($0) } ?? "unknown")
        }
        return ContainerProbe(kind: kind, action: action, timeoutSeconds: try number("timeoutSeconds", 1, minimum: 1),
                              periodSeconds: try number("periodSeconds", 10, minimum: 1), failureThreshold: try number("failureThreshold", 3, minimum: 1),
                              successThreshold: try number("successThreshold", 1, minimum: 1))
    }

    private func port(_ value: JSONValue?, of container: JSONValue, field: String) throws(PodSpecProblem) -> Int {
        if let number = value?.intValue, (1...65535).contains(number) { return number }
        if let name = value?.stringValue,
           let match = container["ports"]?.arrayItems?.first(where: { $0["name"]?.stringValue == name }), let number = match["containerPort"]?.intValue {
            return number
        }
        throw problem(field, "expected a port number or the name of one of the container's ports")
    }
}
