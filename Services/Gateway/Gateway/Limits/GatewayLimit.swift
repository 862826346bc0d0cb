/// A limit the gateway enforces, named as in the `limit` label of `herald_gateway_limit_refusals_total`.
enum GatewayLimit: String, Sendable, CaseIterable {
    /// `HERALD_MAX_MESSAGE_CHARS`: a `user_message` whose content is too long (`too_large`).
    case messageLength = "message_length"
    /// `HERALD_RATE_LIMIT_PER_SECOND` / `HERALD_RATE_LIMIT_BURST`: a message over the connection's rate (`rate_limited`).
    case rate
    /// `HERALD_MAX_CONNECTIONS_PER_USER`: a connection over the user's cap on this gateway (closed with 4429).
    case connectionsPerUser = "connections_per_user"
    /// `HERALD_MAX_THREADS_PER_CONNECTION`: a message that would watch one thread too many (`rate_limited`).
    case threadsPerConnection = "threads_per_connection"
    /// `HERALD_ALLOWED_ORIGINS`: a browser upgrade from an origin not on the list (HTTP 403).
    case origin
    /// `HERALD_UPGRADE_TIMEOUT_SECONDS`: a connection that did not complete its request in time (dropped).
    case upgradeTimeout = "upgrade_timeout"
    /// `HERALD_IDLE_TIMEOUT_SECONDS`: a WebSocket the client went silent on, pongs included (closed with 1001).
    case idleTimeout = "idle_timeout"
    /// `HERALD_GUEST_NEW_PER_MINUTE`: a new guest over its client address's limit (HTTP 429).
    case newGuests = "new_guests"
    /// `HERALD_GUEST_RUNS_PER_HOUR`: a guest's run over its hourly limit (`rate_limited`, 429 over HTTP).
    case guestRuns = "guest_runs"
}
