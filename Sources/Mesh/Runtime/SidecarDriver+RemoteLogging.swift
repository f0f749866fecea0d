import MeshModel

/// The shell's part of remote logging: while the applied config names a collector
/// (`Spec.Observability.RemoteLogging.Address`), finished access-log lines go to the shipper too,
/// which sends them in its own task; a config without one stops it and drops what waits.
extension SidecarDriver {
    func configureRemoteLogging(_ spec: RemoteLoggingSpec?) {
        logShipper.configure(spec)
        guard spec != nil else { return stopRemoteLogging() }
        guard shipperTask == nil else { return }
        let shipper = logShipper
        shipperTask = Task { await shipper.run() }
    }

    /// Stops sending (shutdown, or the collector left the config).
    func stopRemoteLogging() {
        shipperTask?.cancel()
        shipperTask = nil
    }
}
