import Foundation
import PackagePlugin

/// Compiles the target's eBPF programs (`bpf/*.bpf.c`, clang `-target bpf`) on every build and
/// embeds the object in a generated Swift file (`scripts/build-bpf.sh`). The build never fails on
/// the object: without a bpf-capable clang or libbpf's headers the generated file records why,
/// and only `fsm interceptor` (and the eBPF tests) need it.
@main
struct BPFObjectPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let sources = module.directoryURL.appending(path: "bpf")
        let script = context.package.directoryURL.appending(path: "scripts/build-bpf.sh")
        let work = context.pluginWorkDirectoryURL.appending(path: "bpf")
        let output = context.pluginWorkDirectoryURL.appending(path: "InterceptorObject+Generated.swift")
        let clang = (try? context.tool(named: "clang"))?.url.path ?? ""
        let inputs = ["fsm_capture.bpf.c", "fsm_capture.h"].map { sources.appending(path: $0) } + [script]
        return [
            .buildCommand(
                displayName: "Compiling the eBPF capture programs for \(module.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, clang, sources.path, output.path, work.path],
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
