/// Where Redis is and how patient the client is with it.
public struct RedisConfiguration: Sendable {
    public var url: RedisURL
    /// Limit for the TCP connect.
    public var connectTimeout: Duration
    /// Limit for each reply; a command over it closes its connection (see `RedisError.Kind.timeout`).
    public var commandTimeout: Duration
    /// Number of multiplexed connections `RedisClient` spreads ordinary commands over.
    public var poolSize: Int
    /// Delay between failed connection attempts.
    public var reconnectBackoff: RedisBackoff
    /// How many connections `RedisClient.withDedicatedConnection` keeps open between loans.
    public var dedicatedConnectionIdleLimit: Int

    public init(
        url: RedisURL,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(10),
        poolSize: Int = 2,
        reconnectBackoff: RedisBackoff = RedisBackoff(),
        dedicatedConnectionIdleLimit: Int = 4
    ) {
        precondition(poolSize > 0, "poolSize must be at least 1")
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.reconnectBackoff = reconnectBackoff
        self.dedicatedConnectionIdleLimit = dedicatedConnectionIdleLimit
    }

    public init(url: String) throws {
        self.init(url: try RedisURL(url))
    }
}
