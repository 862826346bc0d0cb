import AsyncHTTPClient
import Foundation
import HeraldProtocol
import JWTKit
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The signing keys of an identity provider, from its JSON Web Key Set (`HERALD_JWT_JWKS_URL`): fetched at start, on
/// an interval and for a token whose `kid` is unknown (`JWKSRefreshSchedule`). A fetch that fails keeps the keys
/// already known; `/readyz` and the `herald_jwks_*` metrics say so.
///
/// jwt-kit does the cryptography, but Herald picks the key: the token's `kid` must name a key of the set (jwt-kit
/// would fall back to its first key), and its `alg` must be one the key is for (a key without `alg` takes its
/// type's algorithms only). Each (key, algorithm) pair gets a collection of its own, because jwt-kit remembers the
/// first algorithm a key without `alg` was used with.
public actor JWKSKeySet: Service {
    /// What the gateway knows of the identity provider's keys, for `/readyz`.
    public enum Health: Sendable, Equatable {
        /// No fetch has succeeded yet; tokens cannot be checked.
        case noKeys(reason: String)
        /// The last fetch succeeded.
        case fresh(keys: Int, fetchedAt: Date)
        /// The last fetch failed; the keys fetched before are in use.
        case stale(keys: Int, fetchedAt: Date, reason: String)
    }

    /// The JWS algorithms accepted from an identity provider, by the key type that makes them.
    static let algorithmsByKeyType: [String: Set<String>] = [
        "RSA": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
        "EC": ["ES256", "ES384", "ES512"],
        "OKP": ["EdDSA"],
    ]
    static let acceptedAlgorithms = Set(algorithmsByKeyType.values.joined())
    /// A key set bigger than this is refused: a provider publishes a handful of keys.
    static let maximumBytes = 1 << 20

    struct Key {
        var jwk: JWK
        var type: String
        var algorithm: String?
    }

    public let url: URL
    private let fetchTimeout: Duration
    private let logger: Logger
    private var schedule: JWKSRefreshSchedule
    private var keys: [String: Key] = [:]
    /// The only key of a one-key set, which a token without `kid` may use.
    private var soleKey: Key?
    private var collections: [String: JWTKeyCollection] = [:]
    private var fetchedAt: Date?
    private var lastFailure: String?
    private var inFlight: Task<Void, Never>?
    /// Bumped by every successful fetch, so a key collection built from an older set is not cached after it.
    private var generation = 0
    /// Its own client: redirects are not followed (a key set must come from the URL configured, over its scheme).
    private let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )
    private let fetches: Counter
    private let fetchFailures: Counter
    private let keyCount: Gauge
    private let staleGauge: Gauge
    private let lastSuccess: Gauge

    public init(
        url: URL,
        refreshInterval: Duration,
        minimumRefreshGap: Duration,
        fetchTimeout: Duration = .seconds(5),
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) {
        self.url = url
        self.fetchTimeout = fetchTimeout
        self.schedule = JWKSRefreshSchedule(interval: refreshInterval, minimumGap: minimumRefreshGap)
        self.logger = logger
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "herald", subsystem: "gateway", metricName: metric, unitName: unit, helpText: help)
        }
        let fetched = name("jwks_fetches", "total", "Fetches of the identity provider's JWKS, by outcome (ok, error)")
        fetches = registry.makeCounter(descriptor: fetched, labels: [("outcome", "ok")])
        fetchFailures = registry.makeCounter(descriptor: fetched, labels: [("outcome", "error")])
        keyCount = registry.makeGauge(descriptor: name("jwks_keys", "", "Signing keys known from the JWKS"))
        staleGauge = registry.makeGauge(
            descriptor: name("jwks_stale", "", "1 while the last JWKS fetch failed and the keys fetched before are in use")
        )
        lastSuccess = registry.makeGauge(descriptor: name("jwks_last_success", "timestamp_seconds", "Unix time of the last successful JWKS fetch"))
    }

    /// Fetches the keys at start and then as the schedule says, until the gateway shuts down.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = ContinuousClock.now
                let due = await self.nextFetch(after: now)
                if due > now {
                    do {
                        try await Task.sleep(until: due, clock: .continuous)
                    } catch {
                        return
                    }
                }
                await self.refresh()
            }
        }
        // A fetch still running at shutdown is not waited for.
        inFlight?.cancel()
        try? await client.shutdown()
    }

    /// Where the gateway stands with the provider's keys.
    public var health: Health {
        guard let fetchedAt else { return .noKeys(reason: lastFailure ?? "not fetched yet") }
        if let lastFailure { return .stale(keys: keys.count, fetchedAt: fetchedAt, reason: lastFailure) }
        return .fresh(keys: keys.count, fetchedAt: fetchedAt)
    }

    /// The keys that may check a token with `header`: one key, for the token's algorithm.
    func verifier(for header: TokenHeader) async throws(UpgradeRefusal) -> JWTKeyCollection {
        guard Self.acceptedAlgorithms.contains(header.algorithm) else {
            throw .unauthorized("the token's algorithm (\(header.algorithm.prefix(20))) is not accepted")
        }
        // Before the first good fetch a token may ask for one, as an unknown key may: at most once per minimum gap,
        // so a provider that is down is not hammered by every request.
        if fetchedAt == nil, inFlight != nil || schedule.mayFetchForUnknownKey(at: .now) { await refresh() }
        guard fetchedAt != nil else {
            throw .unavailable("cannot check tokens: the identity provider's keys could not be fetched")
        }
        var key = find(header.keyID)
        if key == nil, header.keyID != nil, schedule.mayFetchForUnknownKey(at: .now) {
            // A key the provider added since the last fetch: rotation works without waiting for the interval.
            await refresh()
            key = find(header.keyID)
        }
        guard let key else {
            throw .unauthorized(header.keyID == nil ? "the token names no key (kid)" : "the token's key (kid) is unknown")
        }
        let allowed = key.algorithm.map { [$0] } ?? Self.algorithmsByKeyType[key.type] ?? []
        guard allowed.contains(header.algorithm) else {
            throw .unauthorized("the token's algorithm (\(header.algorithm)) is not its key's")
        }
        let name = "\(header.keyID ?? "")\u{0}\(header.algorithm)"
        if let collection = collections[name] { return collection }
        let built = generation
        var jwk = key.jwk
        jwk.algorithm = JWK.Algorithm(rawValue: header.algorithm)
        // Keys without a `kid` are only used as the sole key; the collection needs one to hold the key.
        jwk.keyIdentifier = JWKIdentifier(string: header.keyID ?? "sole")
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwk: jwk)
        } catch {
            throw .unauthorized("the token's key cannot check it")
        }
        // A fetch that finished meanwhile may have replaced the key under this `kid`: cache only what is current.
        if generation == built { collections[name] = collection }
        return collection
    }

    private func find(_ keyID: String?) -> Key? {
        guard let keyID else { return soleKey }
        return keys[keyID]
    }

    private func nextFetch(after now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        schedule.nextScheduledFetch(after: now)
    }

    /// Fetches the key set; callers that come while a fetch runs wait for that one.
    private func refresh() async {
        if let inFlight { return await inFlight.value }
        let task = Task { await self.fetchOnce() }
        inFlight = task
        await task.value
        inFlight = nil
    }

    private func fetchOnce() async {
        do {
            let data = try await download()
            let (parsed, skipped) = try Self.parse(data)
            keys = Dictionary(parsed.compactMap { key in key.jwk.keyIdentifier.map { ($0.string, key) } }) { first, _ in first }
            soleKey = parsed.count == 1 ? parsed.first : nil
            collections = [:]
            generation += 1
            fetchedAt = Date()
            lastFailure = nil
            schedule.fetched(at: .now, succeeded: true)
            fetches.increment()
            keyCount.set(Int64(parsed.count))
            staleGauge.set(Int64(0))
            lastSuccess.set(Date().timeIntervalSince1970)
            for reason in skipped { logger.warning("JWKS key skipped", metadata: ["url": "\(url)", "reason": "\(reason)"]) }
            logger.debug("JWKS fetched", metadata: ["keys": "\(parsed.count)"])
        } catch {
            let reason = "\(error)"
            if lastFailure == nil {
                logger.warning(
                    fetchedAt == nil
                        ? "cannot fetch the JWKS: tokens cannot be checked yet" : "cannot fetch the JWKS: the keys fetched before stay in use",
                    metadata: ["url": "\(url)", "error": "\(reason)"]
                )
            }
            lastFailure = reason
            schedule.fetched(at: .now, succeeded: false)
            fetchFailures.increment()
            staleGauge.set(Int64(fetchedAt == nil ? 0 : 1))
        }
    }

    struct FetchError: Error, CustomStringConvertible {
        var description: String
    }

    /// The key set's bytes, all within `fetchTimeout` (the client's own deadline ends with the response's head).
    private func download() async throws -> Data {
        let (url, client, limit) = (url, client, fetchTimeout)
        return try await withThrowingTaskGroup(of: Data?.self) { group in
            group.addTask { try await Self.download(url, with: client, timeout: limit) }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let data = first else {
                throw FetchError(description: "\(url) did not answer in full within \(limit)")
            }
            return data
        }
    }

    private static func download(_ url: URL, with client: HTTPClient, timeout: Duration) async throws -> Data {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "Accept", value: "application/json")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
        } catch {
            throw FetchError(description: "\(url) unreachable: \(error)")
        }
        guard response.status == .ok else { throw FetchError(description: "\(url) answered \(response.status.code)") }
        do {
            return Data(buffer: try await response.body.collect(upTo: Self.maximumBytes))
        } catch {
            throw FetchError(description: "\(url): the key set is not readable or over \(Self.maximumBytes) bytes")
        }
    }

    /// The usable signing keys of a JWKS document, and why others were left out. A document that is not a key set
    /// at all throws; one odd key does not spoil the rest.
    static func parse(_ data: Data) throws -> (keys: [Key], skipped: [String]) {
        guard case .object(let document)? = try? JSONDecoder().decode(JSONValue.self, from: data), case .array(let entries)? = document["keys"] else {
            throw FetchError(description: "not a JSON Web Key Set ({\"keys\": […]})")
        }
        var keys: [Key] = []
        var skipped: [String] = []
        for entry in entries {
            guard case .object(let fields) = entry else { continue }
            let kid = fields["kid"].flatMap { if case .string(let id) = $0 { id } else { nil } }
            let label = "kid \(kid ?? "(none)")"
            if case .string(let use)? = fields["use"], use != "sig" {
                skipped.append("\(label): for \(use), not signatures")
                continue
            }
            guard case .string(let type)? = fields["kty"], algorithmsByKeyType[type] != nil else {
                skipped.append("\(label): key type not RSA, EC or OKP")
                continue
            }
            var algorithm: String?
            if case .string(let alg)? = fields["alg"] {
                guard algorithmsByKeyType[type]?.contains(alg) == true else {
                    skipped.append("\(label): algorithm \(alg) is not accepted for \(type) keys")
                    continue
                }
                algorithm = alg
            }
            var withoutAlgorithm = fields
            withoutAlgorithm["alg"] = nil
            guard let encoded = try? JSONEncoder().encode(JSONValue.object(withoutAlgorithm)),
                var jwk = try? JSONDecoder().decode(JWK.self, from: encoded)
            else {
                skipped.append("\(label): not a readable key")
                continue
            }
            guard kid != nil || entries.count == 1 else {
                skipped.append("\(label): a key without kid in a set of several cannot be chosen")
                continue
            }
            jwk.keyIdentifier = kid.map { JWKIdentifier(string: $0) }
            keys.append(Key(jwk: jwk, type: type, algorithm: algorithm))
        }
        return (keys, skipped)
    }
}
