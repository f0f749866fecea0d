import Logging
import ServiceLifecycle
import UnixSignals

/// The life of the long-running subcommands (controller, sidecar, injector, demo apps, supervise),
/// on swift-service-lifecycle: a `ServiceGroup` traps SIGTERM and SIGINT first, then starts the
/// command's part (so a signal during start-up is not lost to the default action); the signal
/// starts the graceful shutdown, in which the part drains what is in progress (the sidecar its
/// requests, the controller its long polls), and a part still draining after `maximumDrain` is
/// cancelled. An error thrown while starting ends the command with that error.
public enum CommandLifecycle {
    public static let signals: [UnixSignal] = [.sigterm, .sigint]

    /// Starts the part (`start` returns how to drain it), runs until SIGTERM or SIGINT, drains it.
    public static func run(_ name: String, logger: Logger, maximumDrain: Duration = .seconds(30),
                    start: @escaping @Sendable () async throws -> @Sendable () async -> Void) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [ServiceGroupConfiguration.ServiceConfiguration(service: DrainingService(name, start: start))],
            gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = maximumDrain
        try await ServiceGroup(configuration: configuration).run()
    }

    /// Returns at the first SIGTERM or SIGINT, for a command whose own loop winds itself down.
    public static func waitForSignal(logger: Logger) async {
        try? await run("signal wait", logger: logger) { {} }
    }

    /// Runs `body` until it returns or throws, or until SIGTERM or SIGINT cancels it.
    public static func runUntilSignal(logger: Logger, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let configuration = ServiceGroupConfiguration(
            services: [ServiceGroupConfiguration.ServiceConfiguration(service: CancellableService(body: body))],
            gracefulShutdownSignals: signals, logger: logger)
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// A part of a command that runs by itself once started (listeners, timers) until the graceful
/// shutdown, then drains.
private struct DrainingService: Service, CustomStringConvertible {
    let description: String
    let start: @Sendable () async throws -> @Sendable () async -> Void

    init(_ name: String, start: @escaping @Sendable () async throws -> @Sendable () async -> Void) {
        description = name
        self.start = start
    }

    func run() async throws {
        let drain = try await start()
        // Returns at the graceful shutdown, or throws when the group is cancelled: drain either way.
        try? await gracefulShutdown()
        await drain()
    }
}

/// Work that runs in the service's task and is cancelled by the graceful shutdown.
private struct CancellableService: Service {
    let body: @Sendable () async throws -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await body() }
    }
}
