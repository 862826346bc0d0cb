import ArgumentParser
import HeraldCore

/// Everything a relay needs to know, resolved from flags and the environment.
public struct RelaySettings: Sendable {
    public var common: CommonSettings
    /// This relay's name in leases and consumer groups; unique per process.
    public var relayID: String
    /// How long a partition lease lasts without renewal (`HERALD_RELAY_LEASE_SECONDS`); a standby
    /// takes over a dead relay's partitions within about this long.
    public var leaseDuration: Duration
    /// Events read from a partition per round trip (`HERALD_RELAY_BATCH`).
    public var batchSize: Int
    /// The most events one publish script call appends (`HERALD_RELAY_SCRIPT_EVENTS`); Redis serves no one else
    /// while it runs, so this bounds the pause a backlog puts on other clients (about 1–2 ms at 512).
    public var scriptEvents: Int
    /// How many of a thread's latest event ids are remembered to drop an event a worker wrote twice (`HERALD_DEDUP_WINDOW`).
    /// Each publish call reads them all, so it stays small: a retried write follows its original closely.
    public var dedupWindow: Int
    /// How many threads' logs each partition's consumer remembers (`HERALD_RELAY_THREAD_CACHE`), to number and
    /// de-duplicate their events without reading them back; a forgotten thread costs one read when it returns.
    public var threadCacheSize: Int
    /// The most bytes of a live run's events a thread's history keeps beyond `HERALD_HISTORY_SIZE`
    /// (`HERALD_HISTORY_MAX_RUN_BYTES`): a run in progress is never cut short below it, however many events it has.
    public var liveRunHistoryBytes: Int
    public var adminHost: String
    public var adminPort: Int

    public init(common: CommonSettings, relayID: String = Identifier.make("relay"), leaseDuration: Duration = .seconds(5), batchSize: Int = 2_048, scriptEvents: Int = 512, dedupWindow: Int = 32, threadCacheSize: Int = 1_000, liveRunHistoryBytes: Int = EventPublisher.defaultLiveRunHistoryBytes, adminHost: String = "0.0.0.0", adminPort: Int = 9092) {
        self.common = common
        self.relayID = relayID
        self.leaseDuration = leaseDuration
        self.batchSize = batchSize
        self.scriptEvents = scriptEvents
        self.dedupWindow = dedupWindow
        self.threadCacheSize = threadCacheSize
        self.liveRunHistoryBytes = liveRunHistoryBytes
        self.adminHost = adminHost
        self.adminPort = adminPort
    }
}

/// The relay's own flags.
public struct RelayOptions: ParsableArguments, Sendable {
    @OptionGroup public var common: CommonOptions

    @Option(name: .customLong("admin-host"), help: "Address of the health and metrics server (HERALD_ADMIN_HOST; default 0.0.0.0)")
    public var adminHost: String?

    @Option(name: .customLong("admin-port"), help: "Port of the health and metrics server (HERALD_ADMIN_PORT; default 9092)")
    public var adminPort: Int?

    @Option(name: .customLong("lease"), help: "Seconds a partition lease lasts; a standby takes over a dead relay within about this long (HERALD_RELAY_LEASE_SECONDS; default 5)")
    public var leaseSeconds: Int?

    @Option(name: .customLong("batch"), help: "Events read from a partition per round trip (HERALD_RELAY_BATCH; default 2048)")
    public var batchSize: Int?

    @Option(name: .customLong("script-events"), help: "Most events one publish script call appends; Redis serves no one else meanwhile (HERALD_RELAY_SCRIPT_EVENTS; default 512)")
    public var scriptEvents: Int?

    @Option(name: .customLong("dedup-window"), help: "Latest event ids remembered per thread to drop an event a worker wrote twice (HERALD_DEDUP_WINDOW; default 32)")
    public var dedupWindow: Int?

    @Option(name: .customLong("thread-cache"), help: "Thread logs each partition's consumer remembers, to number events without reading the log back (HERALD_RELAY_THREAD_CACHE; default 1000)")
    public var threadCacheSize: Int?

    @Option(name: .customLong("history-max-run-bytes"), help: "Bytes of a run in progress a thread's history keeps beyond the event cap, so a resume mid-answer recovers however many events the run has (HERALD_HISTORY_MAX_RUN_BYTES; default 16777216)")
    public var liveRunHistoryBytes: Int?

    public init() {}

    public func resolve(_ resolver: SettingsResolver = SettingsResolver()) throws -> RelaySettings {
        RelaySettings(
            common: try common.resolve(resolver),
            leaseDuration: .seconds(try resolver.int(leaseSeconds, env: "HERALD_RELAY_LEASE_SECONDS", default: 5, in: 1...600)),
            batchSize: try resolver.int(batchSize, env: "HERALD_RELAY_BATCH", default: 2_048, in: 1...10_000),
            scriptEvents: try resolver.int(scriptEvents, env: "HERALD_RELAY_SCRIPT_EVENTS", default: 512, in: 1...10_000),
            dedupWindow: try resolver.int(dedupWindow, env: "HERALD_DEDUP_WINDOW", default: 32, in: 1...1_000),
            threadCacheSize: try resolver.int(threadCacheSize, env: "HERALD_RELAY_THREAD_CACHE", default: 1_000, in: 1...1_000_000),
            liveRunHistoryBytes: try resolver.int(liveRunHistoryBytes, env: "HERALD_HISTORY_MAX_RUN_BYTES", default: EventPublisher.defaultLiveRunHistoryBytes, in: 0...1_073_741_824),
            adminHost: resolver.string(adminHost, env: "HERALD_ADMIN_HOST", default: "0.0.0.0"),
            adminPort: try resolver.int(adminPort, env: "HERALD_ADMIN_PORT", default: 9092, in: 0...65535)
        )
    }
}
