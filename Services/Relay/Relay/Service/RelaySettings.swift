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

    public init(
        common: CommonSettings,
        relayID: String = Identifier.make("relay"),
        leaseDuration: Duration = .seconds(5),
        batchSize: Int = 2_048,
        scriptEvents: Int = 512,
        dedupWindow: Int = 32,
        threadCacheSize: Int = 1_000,
        liveRunHistoryBytes: Int = EventPublisher.defaultLiveRunHistoryBytes,
        adminHost: String = "0.0.0.0",
        adminPort: Int = 9092
    ) {
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

    @Option(name: .setting(.adminHost), help: .setting(.adminHost))
    public var adminHost: String?

    @Option(name: .setting(.adminPort), help: .setting(.adminPort, in: .relay))
    public var adminPort: String?

    @Option(name: .setting(.relayLeaseSeconds), help: .setting(.relayLeaseSeconds))
    public var leaseSeconds: String?

    @Option(name: .setting(.relayBatch), help: .setting(.relayBatch))
    public var batchSize: String?

    @Option(name: .setting(.relayScriptEvents), help: .setting(.relayScriptEvents))
    public var scriptEvents: String?

    @Option(name: .setting(.dedupWindow), help: .setting(.dedupWindow))
    public var dedupWindow: String?

    @Option(name: .setting(.relayThreadCache), help: .setting(.relayThreadCache))
    public var threadCacheSize: String?

    @Option(name: .setting(.historyMaxRunBytes), help: .setting(.historyMaxRunBytes))
    public var liveRunHistoryBytes: String?

    public init() {}

    public func resolve(_ resolver: SettingsResolver = SettingsResolver()) throws -> RelaySettings {
        RelaySettings(
            common: try common.resolve(resolver),
            leaseDuration: .seconds(try resolver.int(.relayLeaseSeconds, flag: leaseSeconds)),
            batchSize: try resolver.int(.relayBatch, flag: batchSize),
            scriptEvents: try resolver.int(.relayScriptEvents, flag: scriptEvents),
            dedupWindow: try resolver.int(.dedupWindow, flag: dedupWindow),
            threadCacheSize: try resolver.int(.relayThreadCache, flag: threadCacheSize),
            liveRunHistoryBytes: try resolver.int(.historyMaxRunBytes, flag: liveRunHistoryBytes),
            adminHost: try resolver.string(.adminHost, flag: adminHost, service: .relay),
            adminPort: try resolver.int(.adminPort, flag: adminPort, service: .relay)
        )
    }
}
