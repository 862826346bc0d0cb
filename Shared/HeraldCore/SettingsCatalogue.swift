/// Every setting Herald reads, described once (see `SettingSpec`). `.env.example` and deploy/README.md's settings
/// table are generated from this file: `herald-gateway --print-env-example`, `--print-settings-table`.
extension SettingSpec {
    public static let redisURL = SettingSpec(
        name: "HERALD_REDIS_URL",
        flag: "redis-url",
        services: [.gateway, .worker, .relay],
        value: .text,
        default: "redis://127.0.0.1:6379",
        defaultNote: "compose: `redis://redis:6379`",
        help: "Redis URL, redis://[user:password@]host:port[/db], or rediss://… for TLS; user: a Redis ACL user",
        guide:
            "Redis to use, `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS (see `HERALD_REDIS_TLS_CA_FILE`); `user:password` logs in as a Redis ACL user (`AUTH user password`), `:password` as the default user",
        example: [
            "Redis URL, redis://[user:password@]host:port[/db], or rediss://… for TLS. `user:password`",
            "logs in as a Redis ACL user, `:password` as the default user (requirepass). Herald's own default is",
            "redis://127.0.0.1:6379; under docker-compose.yml it is the `redis` service.",
        ],
        exampleValue: "redis://redis:6379",
        secret: true
    )

    public static let redisTLSCAFile = SettingSpec(
        name: "HERALD_REDIS_TLS_CA_FILE",
        flag: "redis-tls-ca-file",
        services: [.gateway, .worker, .relay],
        value: .text,
        whenUnset: "the system's trust roots",
        help: "PEM file of the CA that signed Redis's certificate (rediss:// only)",
        guide:
            "PEM file of the CA(s) Redis's certificate must chain to (`rediss://` only); unset: the system's trust roots. The certificate and its name are always verified; a wrong CA stops the service at start",
        example: [
            "TLS to Redis (rediss:// URLs only): the PEM file of the CA that signed Redis's certificate; unset,",
            "the system's trust roots. Redis's certificate and its name are always verified.",
        ]
    )

    public static let redisTLSCertFile = SettingSpec(
        name: "HERALD_REDIS_TLS_CERT_FILE",
        flag: "redis-tls-cert-file",
        services: [.gateway, .worker, .relay],
        value: .text,
        whenUnset: "no client certificate",
        help: "PEM client certificate for Redis's tls-auth-clients (needs HERALD_REDIS_TLS_KEY_FILE)",
        guide:
            "PEM client certificate (chain) presented to Redis, for `tls-auth-clients yes` (mutual TLS); set together with `HERALD_REDIS_TLS_KEY_FILE`",
        example: [
            "Mutual TLS: the client certificate (PEM) Herald presents to Redis and its unencrypted private key;",
            "both or neither.",
        ]
    )

    public static let redisTLSKeyFile = SettingSpec(
        name: "HERALD_REDIS_TLS_KEY_FILE",
        flag: "redis-tls-key-file",
        services: [.gateway, .worker, .relay],
        value: .text,
        whenUnset: "no client certificate",
        help: "Unencrypted PEM private key of HERALD_REDIS_TLS_CERT_FILE",
        guide: "the unencrypted PEM private key of `HERALD_REDIS_TLS_CERT_FILE`"
    )

    public static let redisTLSServerName = SettingSpec(
        name: "HERALD_REDIS_TLS_SERVER_NAME",
        flag: "redis-tls-server-name",
        services: [.gateway, .worker, .relay],
        value: .text,
        whenUnset: "the URL's host",
        help: "DNS name Redis's certificate must carry, when not the URL's host (also sent as SNI)",
        guide:
            "the DNS name Redis's certificate must carry when it is not the URL's host (say the URL has an IP address and the certificate a name); also sent as SNI. Unset, the URL's host is checked (an IP address against the certificate's IP addresses)",
        example: [
            "The DNS name Redis's certificate must carry, when it is not the URL's host; unset, the URL's host."
        ]
    )

    public static let keyPrefix = SettingSpec(
        name: "HERALD_KEY_PREFIX",
        flag: "key-prefix",
        services: [.gateway, .worker, .relay],
        value: .text,
        default: "herald",
        help: "Prefix of every Redis key, so deployments can share one Redis",
        guide: "prefix of every key and channel; the same in all services of a deployment; lets deployments share a Redis",
        example: [
            "Prefix of every Redis key and channel, so several deployments (or tests) can share one Redis.",
            "Letters, digits, '-', '_', '.' and ':'. Must be the same in every service of a deployment.",
        ]
    )

    public static let logLevel = SettingSpec(
        name: "HERALD_LOG_LEVEL",
        flag: "log-level",
        services: [.gateway, .worker, .relay],
        value: .text,
        default: "info",
        help: "trace, debug, info, notice, warning, error or critical",
        guide: "`trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`",
        example: [
            "Log level: trace, debug, info, notice, warning, error or critical."
        ]
    )

    public static let historySize = SettingSpec(
        name: "HERALD_HISTORY_SIZE",
        flag: "history-size",
        services: [.gateway, .worker, .relay],
        value: .integer(1...1_000_000),
        default: "1000",
        help: "Events kept per thread for resume",
        guide:
            "events kept per thread of its finished runs; a client further behind than this reloads the thread (`recovered:false`). A run in progress keeps all its events besides (see `HERALD_HISTORY_MAX_RUN_BYTES`)",
        example: [
            "Events kept per thread for resume; a client that fell further behind reloads the thread."
        ]
    )

    public static let historyTTLSeconds = SettingSpec(
        name: "HERALD_HISTORY_TTL_SECONDS",
        flag: "history-ttl",
        services: [.gateway, .worker, .relay],
        value: .integer(1...31_536_000),
        default: "86400",
        help: "Seconds a thread's history is kept after its last event",
        guide:
            "how long a thread's event history and run records live after its last event (the relay renews its keys' expiry at most once a minute per thread, so a log can go up to a minute sooner)",
        example: [
            "Seconds a thread's event history and run records are kept after its last event."
        ]
    )

    public static let threadRetentionDays = SettingSpec(
        name: "HERALD_THREAD_RETENTION_DAYS",
        flag: "thread-retention-days",
        services: [.gateway, .worker, .relay],
        value: .integer(1...3650),
        default: "30",
        help: "Days a thread and its messages are kept after its last run",
        guide:
            "how long a thread's record, its messages (the threads API), its conversation (what agents remember) and its place in its owner's list live after its last run, independent of the event history",
        example: [
            "Days a thread, its messages and its conversation are kept after its last run (1-3650)."
        ]
    )

    public static let runLeaseSeconds = SettingSpec(
        name: "HERALD_RUN_LEASE_SECONDS",
        flag: "run-lease",
        services: [.gateway, .worker, .relay],
        value: .integer(1...3600),
        default: "15",
        help: "Seconds a worker's hold on a run lasts without renewal",
        guide: "a worker's hold on a run without renewal; a dead worker's run ends with `worker_lost` within about this long",
        example: [
            "Seconds a worker's hold on a run lasts without renewal. A run whose worker died ends with",
            "agent_error worker_lost within about this long.",
        ]
    )

    public static let eventPartitions = SettingSpec(
        name: "HERALD_EVENT_PARTITIONS",
        flag: "event-partitions",
        services: [.gateway, .worker, .relay],
        value: .integer(1...1024),
        default: "8",
        help: "Event partitions between workers and relays; all services must agree",
        guide: "event partitions between workers and relays; must be the same everywhere (see *Scaling out*, relays, before changing it)",
        example: [
            "Event partitions between workers and relays (more partitions spread the relays' work).",
            "Must be the same in every service of a deployment.",
        ]
    )

    public static let host = SettingSpec(
        name: "HERALD_HOST",
        flag: "host",
        services: [.gateway],
        value: .text,
        default: "0.0.0.0",
        help: "Address the HTTP and WebSocket server binds",
        guide: "address the gateway binds (fixed by compose)",
        example: [
            "Address and port the gateway binds. Fixed to 0.0.0.0:8080 inside the container by",
            "docker-compose.yml (change DEPLOY_GATEWAY_PORT instead); listed for runs outside Docker.",
        ]
    )

    public static let port = SettingSpec(
        name: "HERALD_PORT",
        flag: "port",
        services: [.gateway],
        value: .integer(0...65535),
        default: "8080",
        help: "Port of the HTTP and WebSocket server; 0 picks a free one",
        guide: "port of the chat page, `/ws` and the operator routes (fixed to 8080 inside compose; `DEPLOY_GATEWAY_PORT` picks the host port)"
    )

    public static let jwtSecret = SettingSpec(
        name: "HERALD_JWT_SECRET",
        flag: "jwt-secret",
        services: [.gateway],
        value: .text,
        whenUnset: "guest mode, unless HERALD_JWT_JWKS_URL is set",
        help: "Accept HS256 JWTs signed with this secret (at least 32 bytes)",
        guide:
            "HS256 secret, at least 32 bytes, of the JWTs browsers present; with neither it nor `HERALD_JWT_JWKS_URL`, the gateway runs in guest mode",
        example: [
            "HS256 secret (at least 32 bytes) of the JWTs browsers present; the user id is the claim HERALD_JWT_USER_CLAIM names.",
            "With neither it nor HERALD_JWT_JWKS_URL set, the gateway runs in guest mode (see HERALD_GUESTS).",
        ],
        secret: true
    )

    public static let jwtJWKSURL = SettingSpec(
        name: "HERALD_JWT_JWKS_URL",
        flag: "jwt-jwks-url",
        services: [.gateway],
        value: .text,
        whenUnset: "no asymmetric tokens",
        help: "JWKS URL of the identity provider whose RS256/ES256/EdDSA tokens are accepted (needs HERALD_JWT_ISSUER and HERALD_JWT_AUDIENCE)",
        guide:
            "JSON Web Key Set URL of the identity provider (Auth0, Keycloak, Cognito, Entra, Google): its RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA tokens are accepted; `https` (plain `http` on loopback only); needs `HERALD_JWT_ISSUER` and `HERALD_JWT_AUDIENCE`; no guests",
        example: [
            "JSON Web Key Set of your identity provider, e.g. https://YOUR_TENANT.auth0.com/.well-known/jwks.json:",
            "its RS256/ES256/EdDSA tokens are accepted (JWT mode, no guests). Needs the two settings below.",
        ],
        exampleValue: ""
    )

    public static let jwtIssuer = SettingSpec(
        name: "HERALD_JWT_ISSUER",
        flag: "jwt-issuer",
        services: [.gateway],
        value: .text,
        whenUnset: "`iss` not checked (required with a JWKS)",
        help: "The `iss` every token must carry (required with HERALD_JWT_JWKS_URL)",
        guide: "the `iss` every token must carry, exactly; required with `HERALD_JWT_JWKS_URL`",
        example: ["The `iss` every token must carry (exactly); required with a JWKS."],
        exampleValue: ""
    )

    public static let jwtAudience = SettingSpec(
        name: "HERALD_JWT_AUDIENCE",
        flag: "jwt-audience",
        services: [.gateway],
        value: .text,
        whenUnset: "`aud` not checked (required with a JWKS)",
        help: "Audiences a token's `aud` must include one of, comma-separated (required with HERALD_JWT_JWKS_URL)",
        guide:
            "the audience (or comma-separated audiences) a token's `aud` must name at least one of; required with `HERALD_JWT_JWKS_URL`, since one provider's keys sign tokens for all its applications",
        example: ["Audience(s), comma-separated, of which a token's `aud` must name one; required with a JWKS."],
        exampleValue: ""
    )

    public static let jwtUserClaim = SettingSpec(
        name: "HERALD_JWT_USER_CLAIM",
        flag: "jwt-user-claim",
        services: [.gateway],
        value: .text,
        default: "sub",
        help: "The claim that holds the user id",
        guide: "the token claim that holds the user id (a string or a whole number), e.g. `sub`, `email`, `oid`",
        example: ["The token claim that holds the user id."]
    )

    public static let jwtLeewaySeconds = SettingSpec(
        name: "HERALD_JWT_LEEWAY_SECONDS",
        flag: "jwt-leeway",
        services: [.gateway],
        value: .integer(0...300),
        default: "30",
        help: "Clock skew allowed when checking a token's exp and nbf",
        guide: "seconds of clock skew between the identity provider and the gateway allowed when checking `exp` and `nbf`",
        example: ["Seconds of clock skew allowed when checking a token's `exp` and `nbf`."]
    )

    public static let jwtJWKSRefreshSeconds = SettingSpec(
        name: "HERALD_JWT_JWKS_REFRESH_SECONDS",
        flag: "jwt-jwks-refresh",
        services: [.gateway],
        value: .integer(10...86_400),
        default: "300",
        help: "Interval at which the JWKS is fetched again",
        guide: "seconds between fetches of the JWKS; a failed fetch keeps the cached keys (see `/readyz` and `herald_jwks_*` metrics)",
        example: ["Seconds between fetches of the JWKS; a failed fetch keeps the keys already known."]
    )

    public static let jwtJWKSMinRefreshSeconds = SettingSpec(
        name: "HERALD_JWT_JWKS_MIN_REFRESH_SECONDS",
        flag: "jwt-jwks-min-refresh",
        services: [.gateway],
        value: .integer(1...3600),
        default: "30",
        help: "Least time between two JWKS fetches caused by tokens with an unknown kid",
        guide:
            "least seconds between two fetches caused by a token whose `kid` is unknown (a rotated key is picked up at once; a flood of made-up `kid`s costs one fetch per interval)",
        example: ["Least seconds between two JWKS fetches caused by tokens with an unknown `kid`."]
    )

    public static let guests = SettingSpec(
        name: "HERALD_GUESTS",
        flag: "guests",
        services: [.gateway],
        value: .text,
        default: "on",
        help: "Guest mode without JWT settings: on, or off to refuse every connection without a valid token (401)",
        guide:
            "`on` or `off`: without JWT settings, `off` makes no guests and refuses guest tokens issued before, so every connection and request gets 401 until JWT settings are given; with JWT settings there are no guests either way",
        example: ["on or off. Without JWT settings, off refuses every connection without a valid token (401)."]
    )

    public static let guestNewPerMinute = SettingSpec(
        name: "HERALD_GUEST_NEW_PER_MINUTE",
        flag: "guest-new-per-minute",
        services: [.gateway],
        value: .integer(1...1_000_000),
        default: "20",
        help: "New guests one client address may create per minute; more get 429",
        guide: "new guest users one client address (IPv6: its /64) may create per minute, across gateways; more get 429",
        example: ["New guest users one client address may create per minute (all gateways together); more get 429."]
    )

    public static let trustedProxies = SettingSpec(
        name: "HERALD_TRUSTED_PROXIES",
        flag: "trusted-proxies",
        services: [.gateway],
        value: .text,
        whenUnset: "none: the peer's address is the client's",
        help: "Proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For names the client",
        guide:
            "proxies in front of the gateway, as addresses or CIDR networks, comma-separated (`10.0.0.0/8, ::1`): for a request from one of them, the client is the right-most `X-Forwarded-For` address that is not itself a trusted proxy, for the per-client limits (`HERALD_GUEST_NEW_PER_MINUTE`)",
        example: [
            "Proxies in front of the gateway (addresses or CIDR networks, comma-separated) whose X-Forwarded-For",
            "names the client, for the per-client guest limit. Unset: every client is its peer's address.",
        ],
        exampleValue: ""
    )

    public static let guestRunsPerHour = SettingSpec(
        name: "HERALD_GUEST_RUNS_PER_HOUR",
        flag: "guest-runs-per-hour",
        services: [.gateway],
        value: .integer(1...1_000_000),
        default: "60",
        help: "Runs one guest may start per hour; more get rate_limited (429 over HTTP)",
        guide: "runs one guest user may start per hour, across gateways; more get `rate_limited` (429 over HTTP)",
        example: ["Runs one guest may start per hour (all gateways together); more get rate_limited."]
    )

    public static let maxFrameBytes = SettingSpec(
        name: "HERALD_MAX_FRAME_BYTES",
        flag: "max-frame-bytes",
        services: [.gateway],
        value: .integer(1024...16_777_216),
        default: "65536",
        help: "Largest client message; a bigger one closes the socket with 1009",
        guide: "largest client frame; a bigger one closes the socket with 1009",
        example: [
            "Largest client frame (and message) in bytes; a bigger one closes the socket with 1009."
        ]
    )

    public static let outboundQueueBytes = SettingSpec(
        name: "HERALD_OUTBOUND_QUEUE_BYTES",
        flag: "outbound-queue-bytes",
        services: [.gateway],
        value: .integer(16_384...1_073_741_824),
        default: "1048576",
        help: "Bytes a socket may have waiting to be sent before it is closed with 4008 as a slow consumer",
        guide: "bytes a socket may have waiting to be sent; past it the socket closes with 4008 and the client resumes",
        example: [
            "Bytes a socket may have waiting to be sent; past it the socket closes with 4008 (slow consumer)",
            "and the client resumes.",
        ]
    )

    public static let guestTokenTTLSeconds = SettingSpec(
        name: "HERALD_GUEST_TOKEN_TTL_SECONDS",
        flag: "guest-token-ttl",
        services: [.gateway],
        value: .integer(60...31_536_000),
        default: "2592000",
        defaultNote: "30 days",
        help: "Seconds a guest token stays valid; each connection gets a renewed one",
        guide: "how long a guest token stays valid; each connection gets a renewed one",
        example: [
            "Seconds a guest token stays valid; every connection gets a renewed one."
        ]
    )

    public static let closeTimeoutSeconds = SettingSpec(
        name: "HERALD_CLOSE_TIMEOUT_SECONDS",
        flag: "close-timeout",
        services: [.gateway],
        value: .integer(1...300),
        default: "5",
        help: "Seconds to wait for a client's close reply, and for sockets to drain at shutdown",
        guide: "wait for a client's close reply, and for sockets to drain at shutdown",
        example: [
            "Seconds the gateway waits for a client's close reply, and for sockets to drain at shutdown."
        ]
    )

    public static let pingIntervalSeconds = SettingSpec(
        name: "HERALD_PING_INTERVAL_SECONDS",
        flag: "ping-interval",
        services: [.gateway],
        value: .integer(1...3600),
        default: "30",
        help: "Seconds between WebSocket pings that detect dead peers",
        guide: "WebSocket pings that find dead peers; keep it below every proxy's idle timeout",
        example: [
            "Seconds between WebSocket pings that detect dead peers (keep below any proxy's idle timeout)."
        ]
    )

    public static let publicDirectory = SettingSpec(
        name: "HERALD_PUBLIC_DIR",
        flag: "public-dir",
        services: [.gateway],
        value: .text,
        whenUnset: "the bundled page",
        help: "Serve the chat page from this folder instead of the bundled copy",
        guide: "serve the chat page from this folder instead of the copy in the image",
        example: [
            "Folder the chat page is served from instead of the copy bundled in the image (a path inside",
            "the container; mount it as a volume). Unset means the bundled page.",
        ]
    )

    public static let maxMessageCharacters = SettingSpec(
        name: "HERALD_MAX_MESSAGE_CHARS",
        flag: "max-message-chars",
        services: [.gateway],
        value: .integer(1...16_777_216),
        default: "16000",
        help: "Longest user_message content in characters; longer gets a too_large error",
        guide: "longest `user_message` content in characters (code points); longer gets `too_large`, nothing is queued",
        example: [
            "Limits (each refusal is counted in herald_gateway_limit_refusals_total{limit=…}).",
            "Longest `content` of a user_message, in characters (Unicode code points); longer gets a",
            "`too_large` error and nothing is queued.",
        ]
    )

    public static let maxRequestBytes = SettingSpec(
        name: "HERALD_MAX_REQUEST_BYTES",
        flag: "max-request-bytes",
        services: [.gateway],
        value: .integer(1024...268_435_456),
        default: "1048576",
        help: "Largest request body of POST /agui and POST /api/chat, which carry the conversation; bigger gets 413",
        guide:
            "largest request body of `POST /agui` (AG-UI) and `POST /api/chat` (AI SDK), which carry the whole conversation; bigger gets 413 `too_large` before any stream (docs/agui.md, docs/ai-sdk.md)",
        example: [
            "Largest request body of POST /agui (AG-UI) and POST /api/chat (AI SDK), which carry the conversation; bigger gets 413."
        ]
    )

    public static let rateLimitPerSecond = SettingSpec(
        name: "HERALD_RATE_LIMIT_PER_SECOND",
        flag: "rate-limit-per-second",
        services: [.gateway],
        value: .integer(1...1_000_000),
        default: "10",
        help: "Messages per second one connection may send on average; more get rate_limited",
        guide:
            "messages per second one connection may send on average (token bucket); more get `rate_limited` and are ignored. The same rate limits each user's threads API requests on a gateway (429 `rate_limited`, `Retry-After: 1`)",
        example: [
            "Messages per second one connection may send on average (token bucket), and how many at once",
            "above that; a message over the rate gets a `rate_limited` error and is otherwise ignored.",
        ]
    )

    public static let rateLimitBurst = SettingSpec(
        name: "HERALD_RATE_LIMIT_BURST",
        flag: "rate-limit-burst",
        services: [.gateway],
        value: .integer(1...1_000_000),
        default: "40",
        help: "Messages one connection may send at once above that rate",
        guide: "messages one connection may send at once above that rate (the chat page resumes up to 30 threads on connecting)"
    )

    public static let maxConnectionsPerUser = SettingSpec(
        name: "HERALD_MAX_CONNECTIONS_PER_USER",
        flag: "max-connections-per-user",
        services: [.gateway],
        value: .integer(1...1_000_000),
        default: "20",
        help: "Open WebSockets one user may have on this gateway; the next is closed with 4429",
        guide: "open WebSockets one user may have **on one gateway** (not across the deployment); the next is closed with 4429",
        example: [
            "Open WebSockets one user may have on one gateway (a count per gateway, not per deployment);",
            "the next is accepted, then closed with 4429. Guests are one user per guest token.",
        ]
    )

    public static let maxThreadsPerConnection = SettingSpec(
        name: "HERALD_MAX_THREADS_PER_CONNECTION",
        flag: "max-threads-per-connection",
        services: [.gateway],
        value: .integer(1...1_000_000),
        default: "100",
        help: "Threads one connection may watch; one more gets rate_limited",
        guide: "threads one connection may watch; a message that would watch one more gets `rate_limited`",
        example: [
            "Threads one connection may watch; a user_message or resume that would watch one more gets",
            "`rate_limited` (the chat page keeps at most 30 threads).",
        ]
    )

    public static let upgradeTimeoutSeconds = SettingSpec(
        name: "HERALD_UPGRADE_TIMEOUT_SECONDS",
        flag: "upgrade-timeout",
        services: [.gateway],
        value: .integer(1...3600),
        default: "10",
        help: "Seconds a new connection has to complete its request (the WebSocket upgrade), and a plain HTTP connection may wait for its next one",
        guide:
            "time a new connection has to send its request and get the upgrade; past it the socket is dropped. On a plain HTTP keep-alive connection, the idle limit and the time each request has to arrive in full and be answered",
        example: [
            "Seconds a new TCP connection has to send its request and be answered (the WebSocket upgrade);",
            "a connection that has not is dropped. Also how long a plain HTTP connection may sit idle",
            "between requests.",
        ]
    )

    public static let idleTimeoutSeconds = SettingSpec(
        name: "HERALD_IDLE_TIMEOUT_SECONDS",
        flag: "idle-timeout",
        services: [.gateway],
        value: .integer(2...86_400),
        default: "90",
        help: "Seconds of silence from a client (no message, no pong) before its WebSocket is closed with 1001; longer than the ping interval",
        guide:
            "a WebSocket with nothing from its client (no message, no pong) for this long is closed with 1001; must exceed `HERALD_PING_INTERVAL_SECONDS`",
        example: [
            "Seconds a WebSocket may go without anything from its client, pongs included, before it is",
            "closed with 1001. Must be longer than HERALD_PING_INTERVAL_SECONDS: a live browser answers",
            "every ping, so only vanished or stuck peers reach it.",
        ]
    )

    public static let allowedOrigins = SettingSpec(
        name: "HERALD_ALLOWED_ORIGINS",
        flag: "allowed-origins",
        services: [.gateway],
        value: .text,
        whenUnset: "any origin",
        help:
            "Comma-separated browser origins (https://chat.example.com) allowed to open a WebSocket, others get 403; empty or * allows any; requests without Origin are allowed",
        guide:
            "comma-separated browser origins (`https://chat.example.com`) that may open a WebSocket; others get 403. `*` or unset allows any; requests without `Origin` are allowed",
        example: [
            "Comma-separated browser origins allowed to open a WebSocket, e.g.",
            "https://chat.example.com,http://localhost:8080; others get HTTP 403. Empty (or *) allows any",
            "origin, which is safe because tokens are never cookies. Requests without Origin are allowed.",
        ]
    )

    public static let workerConcurrency = SettingSpec(
        name: "HERALD_WORKER_CONCURRENCY",
        flag: "concurrency",
        services: [.worker],
        value: .integer(1...1024),
        default: "8",
        help: "Runs executed at once",
        guide: "runs one worker executes at once",
        example: [
            "Runs one worker executes at once."
        ]
    )

    public static let offlineDelayMs = SettingSpec(
        name: "HERALD_OFFLINE_DELAY_MS",
        flag: "offline-delay-ms",
        services: [.worker],
        value: .integer(0...60_000),
        default: "20",
        help: "The offline model's pause before each streamed word, in milliseconds",
        guide: "the offline model's pause before each streamed word",
        example: [
            "The offline model's pause before each streamed word, in milliseconds (0 allowed)."
        ]
    )

    public static let streamCoalesceMs = SettingSpec(
        name: "HERALD_STREAM_COALESCE_MS",
        flag: "stream-coalesce-ms",
        services: [.worker],
        value: .integer(0...5_000),
        default: "40",
        help:
            "Least milliseconds between two partial_result events of an answer; text streamed meanwhile is merged, the first delta goes at once; 0 sends every delta",
        guide:
            "least time between two `partial_result` events of one answer: the first delta goes at once, text streamed meanwhile is merged into the next event, a tool call or the answer's end flushes it (`0`: one event per delta; at most 5000)",
        example: [
            "Least milliseconds between two partial_result events of one answer: the first delta goes at once, text",
            "streamed meanwhile is merged into the next event; a tool call or the end flushes it. 0: an event per delta.",
        ]
    )

    public static let docsDirectory = SettingSpec(
        name: "HERALD_DOCS_DIR",
        flag: "docs-dir",
        services: [.worker],
        value: .text,
        whenUnset: "./docs, else a docs folder above the executable",
        defaultNote: "image: `/app/docs`",
        help: "Folder of markdown docs that search_docs searches",
        guide: "the markdown `search_docs` searches",
        example: [
            "Folder of markdown the search_docs tool searches. The image ships the repository's docs there."
        ],
        exampleValue: "/app/docs"
    )

    public static let toolTimeoutSeconds = SettingSpec(
        name: "HERALD_TOOL_TIMEOUT_SECONDS",
        flag: "tool-timeout",
        services: [.worker],
        value: .integer(1...3600),
        default: "30",
        help: "Seconds a tool call may take unless the tool sets its own limit",
        guide: "time limit of a tool call unless the tool sets its own",
        example: [
            "Seconds a tool call may take unless the tool sets its own limit."
        ]
    )

    public static let approvalTools = SettingSpec(
        name: "HERALD_APPROVAL_TOOLS",
        flag: "approval-tools",
        services: [.worker],
        value: .text,
        whenUnset: "only tools that declare it (save_note)",
        help: "Tools whose calls wait for a person's approval besides those that declare it: comma-separated names, * for all",
        guide: "tools whose calls wait for the user's approval, besides those that declare it (`save_note`): comma-separated names, `*` for all",
        example: [
            "Tools whose every call waits for the user's approval, besides those that declare it (save_note):",
            "comma-separated tool names, or * for all.",
        ],
        exampleValue: "calculator,wait"
    )

    public static let approvalTimeoutSeconds = SettingSpec(
        name: "HERALD_APPROVAL_TIMEOUT_SECONDS",
        flag: "approval-timeout",
        services: [.worker],
        value: .integer(1...604_800),
        default: "600",
        help: "Seconds an approval request waits for a decision; then it expires and the tool does not run",
        guide: "how long an approval request waits; unanswered, it expires and the call is `denied`",
        example: [
            "Seconds an approval request waits for the user's decision before it expires (the tool does not run)."
        ]
    )

    public static let runTimeoutSeconds = SettingSpec(
        name: "HERALD_RUN_TIMEOUT_SECONDS",
        flag: "run-timeout",
        services: [.worker],
        value: .integer(0...86_400),
        default: "900",
        help: "Seconds a whole run may take, 0 for no limit",
        guide: "time limit of a whole run (`0`: none); past it the run ends with `agent_error` `timeout`",
        example: [
            "Seconds a whole run may take (0 = no limit); past it the run ends with agent_error timeout."
        ]
    )

    public static let workerGraceSeconds = SettingSpec(
        name: "HERALD_WORKER_GRACE_SECONDS",
        flag: "grace",
        services: [.worker],
        value: .integer(0...3600),
        default: "10",
        help: "Seconds a shutting-down worker lets its runs finish before cancelling them",
        guide: "at shutdown, how long runs may finish before the rest are cancelled",
        example: [
            "Seconds a stopping worker lets its runs finish before cancelling them."
        ]
    )

    public static let redisRetrySeconds = SettingSpec(
        name: "HERALD_REDIS_RETRY_SECONDS",
        flag: "redis-retry",
        services: [.worker],
        value: .integer(1...3600),
        default: "30",
        help: "Seconds an event or a run's bookkeeping is retried while Redis fails",
        guide: "how long an event or a run's bookkeeping is retried while Redis fails",
        example: [
            "Seconds an event or a run's bookkeeping is retried while Redis fails."
        ]
    )

    public static let conversationTurns = SettingSpec(
        name: "HERALD_CONVERSATION_TURNS",
        flag: "conversation-turns",
        services: [.worker],
        value: .integer(2...10_000),
        default: "40",
        help: "Conversation turns kept per thread for later runs",
        guide: "conversation turns kept per thread for later runs",
        example: [
            "Conversation turns kept per thread for later runs on the thread."
        ]
    )

    public static let workerID = SettingSpec(
        name: "HERALD_WORKER_ID",
        flag: "worker-id",
        services: [.worker],
        value: .text,
        whenUnset: "a random id per process",
        help: "This worker's name in the run queue's consumer group; unique per process",
        guide: "name in the run queue's consumer group and on run leases; must be unique, so compose never sets it",
        example: [
            "The worker's name in the run queue's consumer group and on its run leases; unique per process.",
            "Unset means a random id. docker-compose.yml never passes it: replicas must not share one.",
        ]
    )

    public static let llmBaseURL = SettingSpec(
        name: "HERALD_LLM_BASE_URL",
        flag: "llm-base-url",
        services: [.worker],
        value: .text,
        whenUnset: "the built-in offline model",
        help: "OpenAI-compatible API root, e.g. https://api.openai.com/v1 or http://localhost:11434/v1",
        guide: "API root of an OpenAI-compatible chat-completions server (`…/v1`); see *Language models*",
        example: [
            "API root of an OpenAI-compatible chat-completions server, e.g. https://api.openai.com/v1 or",
            "http://ollama:11434/v1. Unset means the built-in offline model.",
        ]
    )

    public static let llmAPIKey = SettingSpec(
        name: "HERALD_LLM_API_KEY",
        flag: "llm-api-key",
        services: [.worker],
        value: .text,
        whenUnset: "no Authorization header",
        help: "API key sent as a bearer token; prefer the environment, flags show in process lists",
        guide: "sent as `Authorization: Bearer …`; never logged, and redacted from error messages",
        example: [
            "API key, sent as `Authorization: Bearer …`; leave unset for servers without one (Ollama,",
            "llama.cpp). It is never logged.",
        ],
        secret: true
    )

    public static let llmModel = SettingSpec(
        name: "HERALD_LLM_MODEL",
        flag: "llm-model",
        services: [.worker],
        value: .text,
        whenUnset: "no model; required with a base URL",
        help: "The model's name on that server; required with a base URL",
        guide: "the model's name on that server",
        example: [
            "The model's name on that server (required with a base URL), e.g. gpt-4o-mini or llama3.1."
        ]
    )

    public static let llmConnectTimeoutSeconds = SettingSpec(
        name: "HERALD_LLM_CONNECT_TIMEOUT_SECONDS",
        flag: "llm-connect-timeout",
        services: [.worker],
        value: .integer(1...300),
        default: "10",
        help: "Seconds to connect to the model server",
        guide: "time to connect to the model server",
        example: [
            "Seconds to connect to the model server."
        ]
    )

    public static let llmFirstTokenTimeoutSeconds = SettingSpec(
        name: "HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS",
        flag: "llm-first-token-timeout",
        services: [.worker],
        value: .integer(1...3600),
        default: "60",
        help: "Seconds from a model request to its first streamed event",
        guide: "time from a model request to its first streamed event; past it the run ends with `llm_unavailable`",
        example: [
            "Seconds from a model request to its first streamed event (a local server loading its model",
            "may need more); past it the run ends with agent_error llm_unavailable.",
        ]
    )

    public static let llmRunTimeoutSeconds = SettingSpec(
        name: "HERALD_LLM_RUN_TIMEOUT_SECONDS",
        flag: "llm-run-timeout",
        services: [.worker],
        value: .integer(1...86_400),
        default: "300",
        help: "Seconds one model call may take, retries and the whole stream included",
        guide: "time one model call may take, retries and the whole streamed answer included",
        example: [
            "Seconds one model call may take, retries and the whole streamed answer included."
        ]
    )

    public static let llmMaxRetries = SettingSpec(
        name: "HERALD_LLM_MAX_RETRIES",
        flag: "llm-max-retries",
        services: [.worker],
        value: .integer(0...10),
        default: "2",
        help: "Retries of a model request after 429, 5xx or a failed connection, before its first token",
        guide: "retries after 429, 5xx or a failed connection, only before the first token",
        example: [
            "Retries of a model request after 429, 5xx or a failed connection, before its first token."
        ]
    )

    public static let llmRetryInitialDelayMs = SettingSpec(
        name: "HERALD_LLM_RETRY_INITIAL_DELAY_MS",
        flag: "llm-retry-initial-delay-ms",
        services: [.worker],
        value: .integer(1...60_000),
        default: "500",
        help: "Pause before the first retry, doubled for each further one, with jitter",
        guide: "pause before the first retry, doubled for each further one, with jitter",
        example: [
            "Pause before the first retry in milliseconds, doubled for each further one (with jitter)."
        ]
    )

    public static let llmRetryMaxDelaySeconds = SettingSpec(
        name: "HERALD_LLM_RETRY_MAX_DELAY_SECONDS",
        flag: "llm-retry-max-delay",
        services: [.worker],
        value: .integer(1...600),
        default: "20",
        help: "Longest pause between retries, also for a longer Retry-After",
        guide: "longest pause between retries, also for a longer `Retry-After`",
        example: [
            "Longest pause between retries in seconds, also for a longer Retry-After from the server."
        ]
    )

    public static let llmPromptsDirectory = SettingSpec(
        name: "HERALD_LLM_PROMPTS_DIR",
        flag: "llm-prompts-dir",
        services: [.worker],
        value: .text,
        whenUnset: "the bundled prompts",
        help: "Folder whose assistant.md, triage.md and reporting.md replace the bundled prompts",
        guide: "folder whose `assistant.md`, `triage.md`, `reporting.md` replace the bundled system prompts, file by file",
        example: [
            "Folder whose assistant.md, triage.md and reporting.md replace the bundled system prompts, file",
            "by file (a path inside the container; mount it as a volume). Unset means the bundled prompts.",
        ]
    )

    public static let mcpServers = SettingSpec(
        name: "HERALD_MCP_SERVERS",
        flag: "mcp-servers",
        services: [.worker],
        value: .text,
        whenUnset: "none",
        help: "MCP servers whose tools the worker offers: a JSON object, name → {\"command\", \"args\"?, \"env\"?} or {\"url\", \"headers\"?}",
        guide:
            "Model Context Protocol servers whose tools workers offer (docs/tools.md, *MCP servers*): a JSON object mapping a name to a stdio command `{\"command\", \"args\"?, \"env\"?}` or a Streamable HTTP endpoint `{\"url\", \"headers\"?}`",
        example: [
            "Model Context Protocol servers whose tools the workers offer beside their own (docs/tools.md),",
            "as a JSON object: a name for each, and the command the worker starts (stdio) or the URL it calls.",
        ],
        exampleValue: #"{"files": {"command": "python3", "args": ["/srv/mcp/files.py"]}}"#,
        secret: true
    )

    public static let mcpConfig = SettingSpec(
        name: "HERALD_MCP_CONFIG",
        flag: "mcp-config",
        services: [.worker],
        value: .text,
        whenUnset: "none",
        help: "A JSON file holding {\"mcpServers\": {…}}, the shape of HERALD_MCP_SERVERS (both may be set; names must differ)",
        guide: "a JSON file `{\"mcpServers\": {…}}`, entries as in `HERALD_MCP_SERVERS` (both may be set; names must differ)",
        example: [
            "A JSON file {\"mcpServers\": {…}} with entries as in HERALD_MCP_SERVERS (the common mcpServers file)."
        ],
        exampleValue: "/app/mcp.json"
    )

    public static let mcpStartTimeoutSeconds = SettingSpec(
        name: "HERALD_MCP_START_TIMEOUT_SECONDS",
        flag: "mcp-start-timeout",
        services: [.worker],
        value: .integer(1...300),
        default: "10",
        help: "Seconds an MCP server has to start and answer initialize and tools/list before the worker goes on without it",
        guide:
            "how long an MCP server may take to start and list its tools; one that takes longer is retried in the background while the worker serves runs with its other tools",
        example: [
            "Seconds an MCP server has to start and list its tools; a slower one is retried while the worker serves runs."
        ]
    )

    public static let adminHost = SettingSpec(
        name: "HERALD_ADMIN_HOST",
        flag: "admin-host",
        services: [.worker, .relay],
        value: .text,
        default: "0.0.0.0",
        help: "Address of the health and metrics server",
        guide: "address of `/healthz`, `/readyz`, `/metrics`",
        example: [
            "Address and port of /healthz, /readyz and /metrics. Defaults 9091 (worker) and 9092 (relay);",
            "fixed to those inside the containers by docker-compose.yml.",
        ]
    )

    public static let adminPort = SettingSpec(
        name: "HERALD_ADMIN_PORT",
        flag: "admin-port",
        services: [.worker, .relay],
        value: .integer(0...65535),
        default: "9091",
        serviceDefaults: [.relay: "9092"],
        help: "Port of the health and metrics server",
        guide: "port of `/healthz`, `/readyz`, `/metrics`"
    )

    public static let relayLeaseSeconds = SettingSpec(
        name: "HERALD_RELAY_LEASE_SECONDS",
        flag: "lease",
        services: [.relay],
        value: .integer(1...600),
        default: "5",
        help: "Seconds a partition lease lasts; a standby takes over a dead relay within about this long",
        guide: "a relay's lease on a partition; a standby takes over a dead relay's partitions within about this long",
        example: [
            "Seconds a relay's lease on an event partition lasts; a standby takes over a dead relay's",
            "partitions within about this long.",
        ]
    )

    public static let relayBatch = SettingSpec(
        name: "HERALD_RELAY_BATCH",
        flag: "batch",
        services: [.relay],
        value: .integer(1...10_000),
        default: "2048",
        help: "Events read from a partition per round trip",
        guide:
            "events read from a partition per Redis round trip. A backlog drains faster in larger reads: a thread's events in one read are appended together",
        example: [
            "Events read from a partition per Redis round trip."
        ]
    )

    public static let relayScriptEvents = SettingSpec(
        name: "HERALD_RELAY_SCRIPT_EVENTS",
        flag: "script-events",
        services: [.relay],
        value: .integer(1...10_000),
        default: "512",
        help: "Most events one publish script call appends; Redis serves no one else meanwhile",
        guide:
            "most events one publish script call appends. Redis serves no one else while the script runs (about 2–4 µs per event here), so this bounds the pause a backlog puts on gateways and workers; a read's threads are packed into calls of at most this many events",
        example: [
            "Most events one publish script call appends; Redis serves no one else while it runs",
            "(about 1-2 ms at 512), so this bounds the pause a backlog puts on other clients.",
        ]
    )

    public static let dedupWindow = SettingSpec(
        name: "HERALD_DEDUP_WINDOW",
        flag: "dedup-window",
        services: [.relay],
        value: .integer(1...1_000),
        default: "32",
        help: "Latest event ids remembered per thread to drop an event a worker wrote twice",
        guide:
            "latest event ids remembered per thread, to drop an event a worker wrote twice (its write landed but the reply was lost, so it retried). A retry follows its original closely, and every publish writes the thread's whole window back, so keep it small. A successor relay's re-reading needs no window: each thread remembers the last partition entry it published",
        example: [
            "Latest event ids remembered per thread (1-1000), to drop an event a worker wrote twice."
        ]
    )

    public static let relayThreadCache = SettingSpec(
        name: "HERALD_RELAY_THREAD_CACHE",
        flag: "thread-cache",
        services: [.relay],
        value: .integer(1...1_000_000),
        default: "1000",
        help: "Thread logs each partition's consumer remembers, to number events without reading the log back",
        guide:
            "thread logs each partition's consumer remembers: epoch, `seq`, last entry and latest ids, so it numbers a thread's events without reading its log back. Each costs about 1–2 KiB of relay memory with the default dedup window; a thread it forgot costs one read when it returns",
        example: [
            "Thread logs each partition's consumer remembers (epoch, seq, latest ids), so it numbers",
            "their events without reading them back; a forgotten thread costs one read when it returns.",
        ]
    )

    public static let historyMaxRunBytes = SettingSpec(
        name: "HERALD_HISTORY_MAX_RUN_BYTES",
        flag: "history-max-run-bytes",
        services: [.relay],
        value: .integer(0...1_073_741_824),
        default: "16777216",
        help:
            "Bytes of a run in progress a thread's history keeps beyond the event cap, so a resume mid-answer recovers however many events the run has",
        guide:
            "bytes of a run in progress that a thread's history keeps beyond `HERALD_HISTORY_SIZE`: while the run is live none of its events is trimmed, so a tab that resumes mid-answer recovers whatever the answer's length. Past the ceiling the run's oldest events are trimmed to the event cap (a resume that far back gets `recovered:false`); when the run ends the event cap applies again",
        example: [
            "Bytes of a run in progress that a thread's history keeps beyond HERALD_HISTORY_SIZE: a live run's events are",
            "never trimmed below this, so a resume mid-answer recovers; past it, its oldest are trimmed to the event cap.",
        ]
    )
}

extension SettingsCatalogue {
    /// Every setting, in the order `.env.example` and deploy/README.md list them.
    public static let sections: [SettingsSection] = [
        SettingsSection(
            title: "Every service",
            settings: [
                .redisURL, .redisTLSCAFile, .redisTLSCertFile, .redisTLSKeyFile, .redisTLSServerName, .keyPrefix, .logLevel, .historySize,
                .historyTTLSeconds, .threadRetentionDays, .runLeaseSeconds, .eventPartitions,
            ]
        ),
        SettingsSection(
            title: "herald-gateway",
            settings: [
                .host, .port, .jwtSecret, .jwtJWKSURL, .jwtIssuer, .jwtAudience, .jwtUserClaim, .jwtLeewaySeconds, .jwtJWKSRefreshSeconds,
                .jwtJWKSMinRefreshSeconds, .guests, .guestNewPerMinute, .guestRunsPerHour, .trustedProxies, .maxFrameBytes, .outboundQueueBytes,
                .guestTokenTTLSeconds,
                .closeTimeoutSeconds, .pingIntervalSeconds,
                .publicDirectory, .maxMessageCharacters, .maxRequestBytes, .rateLimitPerSecond, .rateLimitBurst, .maxConnectionsPerUser,
                .maxThreadsPerConnection, .upgradeTimeoutSeconds, .idleTimeoutSeconds, .allowedOrigins,
            ]
        ),
        SettingsSection(
            title: "herald-worker",
            settings: [
                .workerConcurrency, .offlineDelayMs, .streamCoalesceMs, .docsDirectory, .toolTimeoutSeconds, .runTimeoutSeconds, .workerGraceSeconds,
                .redisRetrySeconds, .conversationTurns, .approvalTools, .approvalTimeoutSeconds, .mcpServers, .mcpConfig,
                .mcpStartTimeoutSeconds, .workerID,
            ]
        ),
        SettingsSection(
            title: "herald-worker: language model (deploy/README.md, \"Language models\", has examples)",
            settings: [
                .llmBaseURL, .llmAPIKey, .llmModel, .llmConnectTimeoutSeconds, .llmFirstTokenTimeoutSeconds, .llmRunTimeoutSeconds, .llmMaxRetries,
                .llmRetryInitialDelayMs, .llmRetryMaxDelaySeconds, .llmPromptsDirectory,
            ]
        ),
        SettingsSection(title: "herald-worker and herald-relay", settings: [.adminHost, .adminPort]),
        SettingsSection(
            title: "herald-relay",
            settings: [.relayLeaseSeconds, .relayBatch, .relayScriptEvents, .dedupWindow, .relayThreadCache, .historyMaxRunBytes]
        ),
    ]
}
