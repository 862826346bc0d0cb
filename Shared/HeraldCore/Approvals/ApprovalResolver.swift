import Foundation
import HeraldProtocol
import Logging
import Redis

/// Takes the one decision on an approval request (DESIGN.md section 10): a person's answer through any gateway, the
/// expiry sweep of any worker, or a cancellation. In one script, so the first decision wins across every process:
/// the record takes the decision, the request leaves the deadlines, `approval_resolved` is appended to the thread's
/// partition behind `approval_requested`, and a continuation of the run goes on the run queue for any worker.
public struct ApprovalResolver: Sendable {
    /// How an attempt to decide went.
    public enum Outcome: Sendable, Equatable {
        /// This decision was taken; the event is the `approval_resolved` every watcher will see.
        case resolved(AgentEvent)
        /// Someone decided first; their decision (nil when the record could not say).
        case alreadyDecided(ApprovalDecision?)
        /// There is no such request (never made, or gone with its thread).
        case notFound
    }

    static let script = RedisScript(
        """
        -- KEYS: approval record, approval deadlines, thread's event partition, run queue, run record
        -- ARGV: decision, arguments json, decided by, reason, decided at, event json, event route, run request json,
        --       run queue field, approval id
        local status = redis.call('HGET', KEYS[1], '\(ApprovalRecord.Field.status)')
        if not status then
          redis.call('ZREM', KEYS[2], ARGV[10])
          return {'not_found'}
        end
        if status ~= '\(ApprovalRecord.pending)' then
          return {'decided', status}
        end
        redis.call('HSET', KEYS[1], '\(ApprovalRecord.Field.status)', ARGV[1], '\(ApprovalRecord.Field.decidedArguments)', ARGV[2],
          '\(ApprovalRecord.Field.decidedBy)', ARGV[3], '\(ApprovalRecord.Field.reason)', ARGV[4], '\(ApprovalRecord.Field.decidedAt)', ARGV[5])
        redis.call('ZREM', KEYS[2], ARGV[10])
        redis.call('XADD', KEYS[3], '*', '\(PartitionEntry.Field.event)', ARGV[6], '\(PartitionEntry.Field.route)', ARGV[7])
        redis.call('XADD', KEYS[4], '*', ARGV[9], ARGV[8])
        if redis.call('EXISTS', KEYS[5]) == 1 then
          redis.call('HSET', KEYS[5], '\(RunRecord.Field.status)', '\(RunRecord.Status.queued)')
        end
        return {'resolved'}
        """
    )

    let redis: RedisClient
    let keys: RedisKeys
    /// `HERALD_EVENT_PARTITIONS`: where the thread's events go.
    let partitions: Int

    public init(redis: RedisClient, keys: RedisKeys, partitions: Int) {
        self.redis = redis
        self.keys = keys
        self.partitions = partitions
    }

    /// Decides `record`'s request, unless someone decided first.
    ///
    /// - Parameters:
    ///   - arguments: what the tool runs with when approved (the request's own, or a person's edit).
    ///   - decidedBy: the user who decided; nil for an expiry or a cancellation.
    public func resolve(
        _ record: ApprovalRecord,
        decision: ApprovalDecision,
        arguments: JSONValue? = nil,
        decidedBy: String? = nil,
        reason: String? = nil
    ) async throws -> Outcome {
        let arguments = arguments ?? record.arguments
        let event = AgentEvent(
            threadID: record.threadID,
            runID: record.runID,
            agentName: record.agent,
            payload: .approvalResolved(
                .init(
                    approvalID: record.approvalID,
                    toolCallID: record.toolCallID,
                    decision: decision,
                    arguments: arguments,
                    decidedBy: decidedBy,
                    reason: reason
                )
            )
        )
        let entry = PartitionEntry(event).fields
        let continuation = RunRequest(
            runID: record.runID,
            threadID: record.threadID,
            userID: record.userID,
            content: "",
            approvalID: record.approvalID
        )
        let partition = keys.eventPartition(RedisKeys.partition(of: record.threadID, partitions: partitions))
        let reply = try await redis.evalScript(
            Self.script,
            keys: [keys.approval(record.approvalID), keys.approvalDeadlines, partition, keys.runQueue, keys.run(record.runID)],
            arguments: [
                RedisArgument(decision.rawValue), RedisArgument(arguments.jsonString()), RedisArgument(decidedBy ?? ""),
                RedisArgument(reason ?? ""), RedisArgument(event.timestamp), entry[0].1, entry[1].1,
                RedisArgument(continuation.encodedJSON()), RedisArgument(RunRequest.streamField), RedisArgument(record.approvalID),
            ]
        )
        guard let parts = reply.array, let verdict = parts.first?.string else {
            throw RedisError(kind: .decoding, message: "approval script returned \(reply)")
        }
        switch verdict {
        case "resolved": return .resolved(event)
        case "decided": return .alreadyDecided(parts.count > 1 ? parts[1].string.flatMap(ApprovalDecision.init(rawValue:)) : nil)
        case "not_found": return .notFound
        default: throw RedisError(kind: .decoding, message: "approval script returned \(reply)")
        }
    }
}
