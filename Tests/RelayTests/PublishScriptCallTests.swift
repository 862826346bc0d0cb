import Foundation
import HeraldCore
import HeraldProtocol
import NIOCore
import Redis
import Testing

@testable import Relay

/// The publish script's call and reply, coded without Redis: a reader that walks the arguments with the same
/// constants the script uses finds every thread's values where the script looks for them.
@Suite struct PublishScriptCallTests {
    private let keys = RedisKeys(prefix: "t")
    private let limits = PublishScriptCall.Limits(historySize: 100, historyTTLSeconds: 3600, liveRunHistoryBytes: 1024, threadRetentionSeconds: 86400)

    private func event(_ thread: String, _ run: String, _ payload: EventPayload, agent: String = AgentName.supervisor) -> AgentEvent {
        AgentEvent(threadID: thread, runID: run, agentName: agent, payload: payload)
    }

    /// Thread a: a whole run (start, text, completion); thread b: one thought of a run already under way.
    private func plan() -> PublishPlan {
        let events = [
            event("thr_a", "run_a", .agentStarted(.init(agentName: AgentName.supervisor, input: .init(content: "hi", clientMessageID: nil)))),
            event("thr_b", "run_b", .agentThinking(.init(thought: "hmm"))),
            event("thr_a", "run_a", .finalReport(.init(report: "hello", totalDurationMs: 4))),
            event("thr_a", "run_a", .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 5))),
        ]
        let items = events.enumerated().map { EventPublisher.Item(PartitionEntry($0.element), entryID: "1700000000000-\($0.offset + 1)") }
        let logs = [
            "thr_a": ThreadLog(epoch: nil, seq: 0, lastEntry: nil, recentEventIDs: []),
            "thr_b": ThreadLog(epoch: "ep_b", seq: 7, lastEntry: StreamEntryID("1600000000000-1"), recentEventIDs: ["evt_x"]),
        ]
        return PublishPlan(items, logs: logs, dedupWindow: 8, now: .now, expiryRenewal: .seconds(60), newEpoch: { "ep_new" })
    }

    private func text(_ argument: RedisArgument) -> String { String(decoding: argument.bytes, as: UTF8.self) }

    private func sameJSONOrText(_ a: String, _ b: String) throws -> Bool {
        guard a.hasPrefix("{") else { return a == b }
        let objects = try [a, b].map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSDictionary }
        return objects[0] != nil && objects[0] == objects[1]
    }

    @Test func theArgumentsSitWhereTheScriptReadsThem() throws {
        let plan = plan()
        let source = EventPublisher.Source(partition: 3, leaseHolder: "relay_1")
        let call = PublishScriptCall(plan, from: source, cursor: "1700000000000-4", limits: limits, keys: keys)
        let arguments = call.arguments.map(text)

        #expect(
            Array(arguments.prefix(PublishScriptCall.leadingArguments)) == [
                "relay_1", "1700000000000-4", "1700000000000-5", "100", "3600", "2", "1024", "86400",
            ]
        )
        #expect(
            Array(call.keys.prefix(PublishScriptCall.partitionKeys)) == [
                keys.partitionLease(3), keys.partitionCursor(3), keys.eventPartition(3),
            ]
        )

        var a = PublishScriptCall.leadingArguments
        var k = PublishScriptCall.partitionKeys
        for append in plan.appends {
            let head = Array(arguments[a..<(a + PublishScriptCall.threadHeadArguments)])
            #expect(head[0] == (append.log.epoch ?? ""))
            #expect(head[1] == (append.startsLog ? "1" : "0"))
            #expect(head[2] == String(append.expectedSeq))
            let frameCount = try #require(Int(head[3]))
            #expect(frameCount == append.frames.count)
            #expect(head[4] == keys.threadChannel(append.threadID))
            let runCount = try #require(Int(head[12]))
            #expect(runCount == append.listedRuns.count)
            var at = a + PublishScriptCall.threadHeadArguments
            for run in append.listedRuns {
                #expect(arguments[at] == run.id)
                let checks = PublishScriptCall.RunChecks(rawValue: try #require(Int(arguments[at + 1])))
                #expect(checks.contains(.endsRun) == run.ends && checks.contains(.mustBeOpen) == run.check)
                at += PublishScriptCall.argumentsPerRun
            }
            #expect(Array(arguments[at..<(at + frameCount)]) == append.frames)
            at += frameCount
            let updateCount = try #require(Int(arguments[at]))
            #expect(updateCount == append.messages.count)
            at += 1
            for update in append.messages {
                let carried = Array(arguments[at..<(at + PublishScriptCall.argumentsPerMessageUpdate)])
                let expected = update.scriptArguments
                // The kind and run id, then two values; a JSON value may list its members in another order.
                #expect(carried.count == expected.count && carried[0] == expected[0] && carried[1] == expected[1] && carried[3] == expected[3])
                #expect(try sameJSONOrText(carried[2], expected[2]))
                at += PublishScriptCall.argumentsPerMessageUpdate
            }
            #expect(call.keys[k] == keys.threadLogState(append.threadID))
            #expect(call.keys[k + PublishScriptCall.keysPerThread - 1] == keys.threadAnswerText(append.threadID))
            #expect(Array(call.keys[(k + PublishScriptCall.keysPerThread)...].prefix(runCount)) == append.listedRuns.map { keys.runEnded($0.id) })
            k += PublishScriptCall.keysPerThread + runCount
            a = at
        }
        #expect(a == arguments.count, "every argument belongs to a thread")
        #expect(k == call.keys.count, "every key belongs to a thread")
        // Thread a's run ends in this batch, and its opening and closing are message updates.
        let threadA = try #require(plan.appends.first { $0.threadID == "thr_a" })
        #expect(threadA.listedRuns.map(\.id) == ["run_a"] && threadA.listedRuns[0].ends)
        #expect(threadA.messages.map { $0.scriptArguments[0] } == ["open", "replace", "close"])
    }

    @Test func aCallWithoutACursorLeavesItAndTrimsNothing() {
        let call = PublishScriptCall(plan(), from: .init(partition: 0, leaseHolder: "r"), cursor: nil, limits: limits, keys: keys)
        #expect(text(call.arguments[1]) == "" && text(call.arguments[2]) == "")
    }

    @Test func decodesEachReply() throws {
        #expect(try PublishScriptReply(.null) == .leaseLost)
        #expect(try PublishScriptReply(.integer(1)) == .published)
        let record = RESPValue.array([
            .integer(2), .bulkString(ByteBuffer(string: "ep_b")), .integer(9), .bulkString(ByteBuffer(string: "1600000000000-2")),
            .bulkString(ByteBuffer(string: "|evt_x|evt_y|")), .array([.integer(1), .integer(3)]),
        ])
        #expect(
            try PublishScriptReply(.array([record]))
                == .logsDiffer([
                    .init(append: 1, epoch: "ep_b", seq: 9, entry: "1600000000000-2", recent: "|evt_x|evt_y|", endedRuns: [0, 2])
                ])
        )
    }

    @Test func refusesAReplyOfAnotherShape() {
        let wrong: [RESPValue] = [
            .integer(0), .array([]), .bulkString(ByteBuffer(string: "OK")),
            .array([.array([.integer(1), .bulkString(ByteBuffer(string: "ep"))])]),
            .array([.array([.integer(0), .bulkString(ByteBuffer()), .integer(0), .bulkString(ByteBuffer()), .bulkString(ByteBuffer()), .array([])])]),
        ]
        for reply in wrong {
            #expect(throws: RelayError.self) { try PublishScriptReply(reply) }
        }
    }

    @Test func decodesTheLogsReadAndRefusesAMissingOne() throws {
        let log = RESPValue.array([
            .bulkString(ByteBuffer(string: "ep")), .integer(4), .bulkString(ByteBuffer(string: "1-1")), .bulkString(ByteBuffer(string: "|e|")),
        ])
        let logs = try ThreadLogReadReply.logs(.array([log]), count: 1)
        #expect(logs == [ThreadLog(epoch: "ep", seq: 4, entry: "1-1", recent: "|e|")])
        #expect(throws: RelayError.self) { try ThreadLogReadReply.logs(.array([log]), count: 2) }
    }
}
