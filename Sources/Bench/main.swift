import Foundation

/// `bench control-plane …` (controller at scale), `bench dataplane …` (sidecar beside Envoy,
/// HAProxy and NGINX), `bench upstream …` (the fixed-body origin the data-plane run starts),
/// `bench load …` (one load-generator run against any HTTP/1.1 target), `bench webhook …` (the
/// injection webhook's latency per AdmissionReview), `bench kube …` (the controller against the
/// API-server double at scale), `bench capture …` (the two-sidecar path under local mode,
/// iptables and eBPF capture, as root).
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "control-plane": runControlPlane(arguments)
case "dataplane": runDataPlane(Array(arguments.dropFirst()))
case "upstream": runUpstream(Array(arguments.dropFirst()))
case "load": runLoad(Array(arguments.dropFirst()))
case "capture": runCaptureBench(Array(arguments.dropFirst()))
case "webhook": runWebhookBench(Array(arguments.dropFirst()))
case "kube": runKube(Array(arguments.dropFirst()))
default:
    FileHandle.standardError.write(Data("usage: bench control-plane|dataplane|upstream|load|webhook|kube|capture [options] (--help per mode)\n".utf8))
    exit(2)
}
