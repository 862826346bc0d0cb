/// Which arguments of a command are keys: what a cluster client routes a command by.
///
/// Knows the commands Herald sends (and their common relatives). A command it does not know is routed by its
/// second word, which is the key of nearly every Redis command; commands without keys (`PING`, `TIME`, `INFO`,
/// `SCRIPT`, …) are listed so they go to any primary instead.
public enum RedisCommandKeys {
    /// Where a command's keys are.
    public enum Positions: Sendable, Hashable {
        /// The command has no key: any primary can run it.
        case keyless
        /// The command must run on every primary (`SCRIPT LOAD`, `SCRIPT FLUSH`): its effect is per node.
        case everyPrimary
        /// The indices of the key arguments in the command (never empty).
        case keys([Int])
    }

    /// The key positions of `command` (its words, the name first).
    public static func positions(of command: [RedisArgument]) -> Positions {
        guard let first = command.first else { return .keyless }
        let name = first.description.uppercased()
        switch name {
        case "PING", "TIME", "INFO", "ECHO", "DBSIZE", "CLUSTER", "CLIENT", "CONFIG", "COMMAND", "ACL", "AUTH", "HELLO",
            "SELECT", "SCAN", "RANDOMKEY", "FLUSHALL", "FLUSHDB", "LASTSAVE", "ROLE", "READONLY", "READWRITE", "ASKING",
            "PUBLISH", "MULTI", "EXEC", "DISCARD", "FUNCTION", "WAIT":
            // PUBLISH is broadcast to every node of a cluster by Redis itself, so any node will do.
            return .keyless
        case "SCRIPT":
            guard command.count > 1 else { return .keyless }
            switch command[1].description.uppercased() {
            case "LOAD", "FLUSH": return .everyPrimary
            default: return .keyless
            }
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            // name, script, numkeys, key…, arg…
            guard command.count > 2, let count = Int(command[2].description), count >= 0, command.count >= 3 + count else {
                return .keyless
            }
            return count == 0 ? .keyless : .keys(Array(3..<(3 + count)))
        case "XREAD", "XREADGROUP":
            // … STREAMS key… id…: as many keys as ids after the (last) STREAMS word.
            guard let streams = command.lastIndex(where: { $0.description.uppercased() == "STREAMS" }) else { return .keyless }
            let tail = command.count - streams - 1
            guard tail >= 2, tail.isMultiple(of: 2) else { return .keyless }
            return .keys(Array((streams + 1)..<(streams + 1 + tail / 2)))
        case "XGROUP", "XINFO":
            // XGROUP CREATE key …, XINFO GROUPS key: the key follows the subcommand.
            return command.count > 2 ? .keys([2]) : .keyless
        case "MGET", "EXISTS", "DEL", "UNLINK", "TOUCH", "WATCH", "SINTER", "SUNION", "SDIFF", "PFCOUNT":
            return command.count > 1 ? .keys(Array(1..<command.count)) : .keyless
        case "MSET", "MSETNX":
            return command.count > 1 ? .keys(Array(stride(from: 1, to: command.count, by: 2))) : .keyless
        case "RENAME", "RENAMENX", "SMOVE", "LMOVE", "RPOPLPUSH", "COPY":
            return command.count > 2 ? .keys([1, 2]) : .keyless
        case "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX":
            // key… timeout
            return command.count > 2 ? .keys(Array(1..<(command.count - 1))) : .keyless
        default:
            // GET, SET, HSET, HGET, HMGET, HGETALL, HVALS, HSETNX, EXPIRE, TTL, ZADD, ZREM, ZRANGE…, LRANGE, XADD, XACK,
            // XDEL, XCLAIM, XAUTOCLAIM, XPENDING, XRANGE, XLEN, …: the key is the first argument.
            return command.count > 1 ? .keys([1]) : .keyless
        }
    }

    /// The one slot all of `command`'s keys hash to, nil for a command without keys; throws `RedisError.crossSlot`
    /// when its keys span slots (a cluster would refuse it with `CROSSSLOT`; refused here before it is sent).
    public static func slot(of command: [RedisArgument]) throws -> Int? {
        guard case .keys(let indices) = positions(of: command) else { return nil }
        let slot = RedisHashSlot.hashSlot(of: command[indices[0]])
        for index in indices.dropFirst() where RedisHashSlot.hashSlot(of: command[index]) != slot {
            throw RedisError.crossSlot(command: command, keys: indices.map { command[$0].description })
        }
        return slot
    }
}

extension RedisError {
    /// A multi-key command whose keys hash to different slots, refused by the cluster client before sending.
    static func crossSlot(command: [RedisArgument], keys: [String]) -> RedisError {
        let name = command.first?.description.uppercased() ?? ""
        let slots = keys.map { "\($0) (slot \(RedisHashSlot.hashSlot(of: $0)))" }.joined(separator: ", ")
        return RedisError(
            kind: .crossSlot,
            message: "\(name) touches keys in different hash slots, which a cluster cannot run atomically: \(slots); give them a common hash tag"
        )
    }
}
