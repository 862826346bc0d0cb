import Logging
import Redis

/// Guest mode with a real language model lets anyone who reaches the gateway spend the model's key. Gateways know
/// the one, workers the other: each leaves what it knows in Redis at start and reads what the other left, so
/// whichever starts second logs the warning, in any order.
public enum GuestModeRisk {
    public static let warning =
        "guest mode is on and workers use a real language model: anyone who can reach the gateway can spend the model's API key; set HERALD_JWT_SECRET or HERALD_JWT_JWKS_URL, or HERALD_GUESTS=off (HERALD_GUEST_NEW_PER_MINUTE and HERALD_GUEST_RUNS_PER_HOUR bound what guests spend meanwhile)"

    /// A gateway started: whether it makes guests.
    public static func gatewayStarted(makesGuests: Bool, redis: RedisClient, keys: RedisKeys, logger: Logger) async {
        do {
            _ = try await redis.send("SET", keys.deploymentGuests, makesGuests ? "on" : "off")
            let model = try await redis.send("GET", keys.deploymentModel).string
            logger.debug("guest mode compared with the workers' model", metadata: ["guests": "\(makesGuests)", "model": "\(model ?? "unknown")"])
            guard makesGuests, let model, model != offline else { return }
            logger.warning("\(warning)", metadata: ["model": "\(model)"])
        } catch {
            logger.debug("cannot compare guest mode with the workers' model", metadata: ["error": "\(error)"])
        }
    }

    /// A worker started: the model it uses (nil: the offline model).
    public static func workerStarted(model: String?, redis: RedisClient, keys: RedisKeys, logger: Logger) async {
        do {
            _ = try await redis.send("SET", keys.deploymentModel, model ?? offline)
            let guests = try await redis.send("GET", keys.deploymentGuests).string
            logger.debug(
                "model compared with the gateways' guest mode",
                metadata: ["guests": "\(guests ?? "unknown")", "model": "\(model ?? offline)"]
            )
            guard let model, guests == "on" else { return }
            logger.warning("\(warning)", metadata: ["model": "\(model)"])
        } catch {
            logger.debug("cannot compare the model with the gateways' guest mode", metadata: ["error": "\(error)"])
        }
    }

    private static let offline = "offline"
}
