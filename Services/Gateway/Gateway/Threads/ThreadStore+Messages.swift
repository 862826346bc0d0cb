import Foundation
import HeraldCore
import HeraldProtocol
import Redis

extension ThreadStore {
    /// The messages before `before` (the newest when nil), at most `limit`, oldest first, and the cursor of the page
    /// before when there is one. Nil when the thread is not the user's.
    func messages(of threadID: String, userID: String, before: MessagePosition?, limit: Int) async throws -> MessagePage? {
        guard try await runs.owner(ofThread: threadID) == userID else { return nil }
        // Every run has an assistant message: `limit` runs back hold at least `limit` messages.
        let lastRun = before.map { $0.part == .user ? $0.run - 1 : $0.run } ?? Int.max
        guard lastRun >= 0 else { return MessagePage(messages: [], nextCursor: nil) }
        let reply = try await redis.evalScript(
            Self.readMessagesScript,
            keys: [keys.threadRuns(threadID), keys.threadMessages(threadID), keys.threadAnswerText(threadID)],
            arguments: [RedisArgument(lastRun), RedisArgument(limit)]
        )
        guard let parts = reply.array, parts.count == 4, let first = parts[0].int, let liveText = parts[1].string else {
            throw RedisError(kind: .decoding, message: "read messages script returned \(reply)")
        }
        let records = try (parts[3].array ?? []).map(RunMessageParts.init)
        return MessageAssembly.page(records, firstRun: first, before: before, limit: limit, liveText: liveText, runCount: parts[2].int ?? 0)
    }

    static let readMessagesScript = RedisScript(
        """
        -- KEYS: the thread's runs, its messages, the live answer text
        -- ARGV: the last run index wanted (past the end: the newest run), how many runs back
        -- Returns {index of the first run returned, the live answer text or '', the run count, per run
        --          {id, user, text, end, usage, {call, done, call, done, …}}}
        local count = redis.call('LLEN', KEYS[1])
        local last = math.min(tonumber(ARGV[1]), count - 1)
        local first = math.max(0, last - tonumber(ARGV[2]) + 1)
        local runs = {}
        for i, run in ipairs(redis.call('LRANGE', KEYS[1], first, last)) do
          local f = redis.call('HMGET', KEYS[2], run .. '\(MessageRecord.Field.Suffix.user)', run .. '\(MessageRecord.Field.Suffix.text)', run .. '\(MessageRecord.Field.Suffix.end)', run .. '\(MessageRecord.Field.Suffix.usage)', run .. '\(MessageRecord.Field.Suffix.calls)')
          local calls = {}
          for id in string.gmatch(f[5] or '', '%S+') do
            local c = redis.call('HMGET', KEYS[2], run .. '\(MessageRecord.Field.Suffix.call)' .. id, run .. '\(MessageRecord.Field.Suffix.done)' .. id)
            calls[#calls + 1] = c[1] or ''
            calls[#calls + 1] = c[2] or ''
          end
          runs[i] = {run, f[1] or '', f[2] or '', f[3] or '', f[4] or '', calls}
        end
        return {first, redis.call('GET', KEYS[3]) or '', count, runs}
        """
    )
}

/// A run's parts as the read script returns them (`MessageRecord`'s JSON, '' for a part not written yet).
struct RunMessageParts: Sendable, Equatable {
    var runID: String
    var user: String
    var text: String
    var end: String
    var usage: String
    /// Per call its `ToolCallPart` and `ToolDonePart` JSON.
    var calls: [(call: String, done: String)]

    init(runID: String, user: String, text: String, end: String, usage: String = "", calls: [(call: String, done: String)] = []) {
        self.runID = runID
        self.user = user
        self.text = text
        self.end = end
        self.usage = usage
        self.calls = calls
    }

    init(_ reply: RESPValue) throws {
        guard let fields = reply.array, fields.count == 6, let runID = fields[0].string else {
            throw RedisError(kind: .decoding, message: "a run's messages read as \(reply)")
        }
        let values = fields[5].array?.map { $0.string ?? "" } ?? []
        self.init(
            runID: runID,
            user: fields[1].string ?? "",
            text: fields[2].string ?? "",
            end: fields[3].string ?? "",
            usage: fields[4].string ?? "",
            calls: stride(from: 0, to: values.count - 1, by: 2).map { (values[$0], values[$0 + 1]) }
        )
    }

    static func == (lhs: RunMessageParts, rhs: RunMessageParts) -> Bool {
        lhs.runID == rhs.runID && lhs.user == rhs.user && lhs.text == rhs.text && lhs.end == rhs.end && lhs.usage == rhs.usage
            && lhs.calls.elementsEqual(rhs.calls, by: { $0.call == $1.call && $0.done == $1.done })
    }
}

/// Turns runs' records into messages: pure, so paging and the parts' meaning are tested without Redis.
enum MessageAssembly {
    /// The page of messages before `before` among runs `firstRun…` (their records), the newest `limit` of them.
    static func page(
        _ records: [RunMessageParts],
        firstRun: Int,
        before: MessagePosition?,
        limit: Int,
        liveText: String,
        runCount: Int
    ) -> MessagePage {
        var positioned: [(MessagePosition, ThreadMessage)] = []
        for (offset, record) in records.enumerated() {
            let run = firstRun + offset
            // Only the thread's newest run can still be streaming; its text so far is the live answer.
            let isNewest = run == runCount - 1
            for (part, message) in messages(of: record, liveText: isNewest ? liveText : "") {
                positioned.append((MessagePosition(run: run, part: part), message))
            }
        }
        if let before { positioned.removeAll { !($0.0 < before) } }
        let page = positioned.suffix(limit)
        let hasOlder = page.count < positioned.count || (firstRun > 0 && !page.isEmpty)
        return MessagePage(messages: page.map(\.1), nextCursor: hasOlder ? page.first?.0.text : nil)
    }

    /// The run's user message (when it had one) and its assistant message.
    static func messages(of record: RunMessageParts, liveText: String) -> [(MessagePosition.Part, ThreadMessage)] {
        let decoder = JSONDecoder()
        let user = try? decoder.decode(MessageRecord.UserPart.self, from: Data(record.user.utf8))
        let end = try? decoder.decode(MessageRecord.EndPart.self, from: Data(record.end.utf8))
        let createdAt = user?.createdAt ?? end?.completedAt ?? ""
        var result: [(MessagePosition.Part, ThreadMessage)] = []
        if let content = user?.content {
            result.append(
                (.user, ThreadMessage(messageID: "\(record.runID).user", runID: record.runID, role: .user, content: content, createdAt: createdAt))
            )
        }
        let calls: [ThreadMessage.ToolCall] = record.calls.compactMap { pair in
            guard let call = try? decoder.decode(MessageRecord.ToolCallPart.self, from: Data(pair.call.utf8)) else { return nil }
            let done = try? decoder.decode(MessageRecord.ToolDonePart.self, from: Data(pair.done.utf8))
            return ThreadMessage.ToolCall(
                toolCallID: call.toolCallID,
                toolName: call.toolName,
                arguments: call.arguments,
                status: done?.status ?? "running",
                result: done?.result,
                error: done?.error
            )
        }
        let status = end.map { ThreadMessage.Status(rawValue: $0.status) ?? .error } ?? .streaming
        result.append(
            (
                .assistant,
                ThreadMessage(
                    messageID: "\(record.runID).assistant",
                    runID: record.runID,
                    role: .assistant,
                    content: end == nil ? liveText : record.text,
                    createdAt: createdAt,
                    status: status,
                    toolCalls: calls.isEmpty ? nil : calls
                )
            )
        )
        return result
    }
}
