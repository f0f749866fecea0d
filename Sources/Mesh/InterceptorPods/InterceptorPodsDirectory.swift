import MeshInterceptor
import MeshModel
import MeshShell

/// `fsm interceptor --pods-dir DIR`: every `*.yaml` file of DIR is a pods file (one per pod, as a
/// CNI plugin or a node agent writes them, or several pods in one). Read whole at every poll; a
/// file that does not decode keeps its last good pods and its error is reported once; an address
/// given by two files belongs to the first in name order.
public struct InterceptorPodsDirectory: Sendable {
    public let path: String
    public let defaults: InterceptorPodsFile.Defaults
    private var lastGood: [String: [InterceptorPod]] = [:]
    private var reported: Set<String> = []

    public init(path: String, defaults: InterceptorPodsFile.Defaults) {
        self.path = path
        self.defaults = defaults
    }

    /// The pods the directory lists now, and the problems not reported before (one line each).
    public mutating func read() -> (pods: [InterceptorPod], newProblems: [String]) {
        var problems: [String] = []
        let names: [String]
        do {
            names = try InputFile.listDirectory(path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            return (lastGood.keys.sorted().flatMap { lastGood[$0] ?? [] }, report("\(error)"))
        }
        lastGood = lastGood.filter { names.contains($0.key) }
        for name in names {
            do {
                let file = path + "/" + name
                let bytes = try InputFile.read(file, limit: ManifestLimits.maxFileBytes, directoryHint: "pods files are *.yaml files", tooLarge: SourceText.tooLarge)
                lastGood[name] = try InterceptorPodsFile.decode(try SourceText.decode(bytes, file: file), file: file, defaults: defaults)
            } catch {
                problems += report("\(error)")
            }
        }
        var pods: [InterceptorPod] = []
        var owners: [UInt32: String] = [:]
        for name in names {
            for pod in lastGood[name] ?? [] {
                if let owner = owners[pod.address] {
                    problems += report("\(path)/\(name): pod address \(pod.addressText) is already given by \(path)/\(owner); left out")
                    continue
                }
                owners[pod.address] = name
                pods.append(pod)
            }
        }
        return (pods, problems)
    }

    /// A problem the first time it is seen.
    private mutating func report(_ problem: String) -> [String] {
        if reported.count >= 1024 { reported.removeAll() }
        return reported.insert(problem).inserted ? [problem] : []
    }
}
