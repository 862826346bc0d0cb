/// Where Redis is and how patient the client is with it.
public struct RedisConfiguration: Sendable {
    public var url: RedisURL
    /// TLS for a `rediss://` URL (required with one; a `redis://` URL refuses it rather than ignore it).
    public var tls: RedisTLS?
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
        tls: RedisTLS? = nil,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(10),
        poolSize: Int = 2,
        reconnectBackoff: RedisBackoff = RedisBackoff(),
        dedicatedConnectionIdleLimit: Int = 4
    ) {
        precondition(poolSize > 0, "poolSize must be at least 1")
        self.url = url
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.reconnectBackoff = reconnectBackoff
        self.dedicatedConnectionIdleLimit = dedicatedConnectionIdleLimit
    }

    /// The configuration of `url`; a `rediss://` URL gets TLS with the system's trust roots and no client
    /// certificate (loaded here: blocking I/O), unless `tls` is given.
    public init(url: String, tls: RedisTLS? = nil) throws {
        let url = try RedisURL(url)
        self.init(url: url, tls: try tls ?? (url.tls ? RedisTLS() : nil))
    }
}
