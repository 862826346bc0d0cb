import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// Resolves approval requests nobody answered in time as `expired` (DESIGN.md section 10), and keeps the gauge of
/// paused runs. Every worker sweeps; the resolving script lets exactly one of them decide each request.
struct ApprovalExpirySweep: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    let resolver: ApprovalResolver
    let metrics: WorkerMetrics
    let interval: Duration
    let logger: Logger

    /// Sweeps until the task is cancelled.
    func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await sweep()
                failures = 0
            } catch {
                failures += 1
                if failures == 1 { logger.warning("approval expiry sweep failed; retrying", metadata: ["error": "\(error)"]) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One sweep: expires what is due, then counts what still waits.
    func sweep() async throws {
        let now = Int(Date().timeIntervalSince1970 * 1000)
        let due = try await redis.send("ZRANGEBYSCORE", keys.approvalDeadlines, "-inf", RedisArgument(now), "LIMIT", "0", "100")
        for approvalID in (due.array ?? []).compactMap(\.string) {
            guard let record = try await ApprovalRecord.load(approvalID, keys: keys, on: redis) else {
                // Gone with its thread: nothing to resolve.
                _ = try await redis.send("ZREM", keys.approvalDeadlines, approvalID)
                continue
            }
            if case .resolved = try await resolver.resolve(record, decision: .expired) {
                logger.info("approval expired", metadata: ["approval_id": "\(approvalID)", "run_id": "\(record.runID)"])
            }
        }
        if let waiting = try await redis.send("ZCARD", keys.approvalDeadlines).int {
            metrics.runsPaused.record(Int64(waiting))
        }
    }
}
