import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// Human approval of tool calls (DESIGN.md section 10, run rule 10) on the real executables: runs that pause for a
/// person, answered from any tab and gateway, continued by any worker.
@Suite(.timeLimit(.minutes(5)))
struct ApprovalTests {
    private static func request(of runID: String, in client: ChatTestClient) async throws -> EventPayload.ApprovalRequested {
        try await client.firstMatch { frame -> EventPayload.ApprovalRequested? in
            if case .event(let event) = frame, event.runID == runID, case .approvalRequested(let request) = event.event.payload {
                return request
            }
            return nil
        }
    }

    private static func resolution(of approvalID: String, in client: ChatTestClient) async throws -> EventPayload.ApprovalResolved {
        try await client.firstMatch { frame -> EventPayload.ApprovalResolved? in
            if case .event(let event) = frame, case .approvalResolved(let resolved) = event.event.payload, resolved.approvalID == approvalID {
                return resolved
            }
            return nil
        }
    }

    /// The codes of the error frames about `approvalID` among `client`'s frames so far.
    private static func errors(about approvalID: String, in client: ChatTestClient) async -> [String] {
        await client.received.compactMap { text -> String? in
            guard let frame = try? JSONValue.parse(text), frame["type"] == "error", frame["ref"]?.stringValue == approvalID else { return nil }
            return frame["code"]?.stringValue
        }
    }

    /// Waits for the error frame about `approvalID` and returns its code.
    private static func error(about approvalID: String, in client: ChatTestClient) async throws -> ErrorCode {
        try await client.firstMatch { frame -> ErrorCode? in
            if case .server(.error(let error)) = frame, error.ref == approvalID { return error.code }
            return nil
        }
    }

    /// The sum of a metric's samples (every label set) in a Prometheus text page.
    private static func value(of metric: String, in text: String) -> Double {
        text.split(separator: "\n")
            .filter { !$0.hasPrefix("#") && ($0.hasPrefix(metric + " ") || $0.hasPrefix(metric + "{")) }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }

    private static func approve(_ id: String, arguments: [String: JSONValue]? = nil) -> ClientMessage {
        .approvalResponse(.init(approvalID: id, decision: .approve, arguments: arguments))
    }

    private static func deny(_ id: String, reason: String? = nil) -> ClientMessage {
        .approvalResponse(.init(approvalID: id, decision: .deny, reason: reason))
    }

    @Test func aPausedRunOutlivesEveryWorkerAndANewOneFinishesItSavingTheNoteOnce() async throws {
        try await withDeployment(workers: 2, environment: ["HERALD_RUN_LEASE_SECONDS": "1"]) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("save a note: buy oat milk")
            let request = try await Self.request(of: queued.runID, in: client)
            #expect(request.toolName == "save_note")
            #expect(request.arguments == ["text": "buy oat milk"])

            for worker in deployment.workers { worker.kill9() }
            // Paused, nothing holds it: no lease, no entry on the run queue for a watchdog to find, its state kept.
            let prefix = "herald"
            #expect(try await deployment.redis.string("HGET", "\(prefix):run:\(queued.runID)", "status") == "paused")
            #expect(try await deployment.redis.reply(["EXISTS", "\(prefix):run:\(queued.runID):lease"]).int == 0)
            #expect(try await deployment.redis.reply(["XPENDING", "\(prefix):runs", "workers"]).array?.first?.int == 0)
            #expect(try await deployment.redis.reply(["EXISTS", "\(prefix):run:\(queued.runID):paused"]).int == 1)

            try await deployment.startWorker()
            try await client.send(Self.approve(request.approvalID))
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.terminal?.type == .agentCompleted)
            #expect(frames.toolCompletions.map(\.status) == [.success])
            #expect(frames.finalReport?.report.contains("I saved your note") == true)
            let types = frames.map(\.type)
            #expect(types.firstIndex(of: .approvalRequested)! < types.firstIndex(of: .approvalResolved)!)
            #expect(types.filter { $0 == .agentStarted }.count == 4)

            let notes = try await deployment.redis.reply(["HVALS", "\(prefix):user:{\(client.userID)}:notes"]).array ?? []
            #expect(notes.count == 1)
            #expect(notes.first?.string?.contains("buy oat milk") == true)

            // list_notes reads it back, without asking.
            let listing = try await client.startRun("list my notes", threadID: queued.threadID)
            let listed = try await client.events(untilEndOf: listing.runID)
            expectValidRuns(listed)
            #expect(!listed.contains { $0.type == .approvalRequested })
            #expect(listed.finalReport?.report.contains("buy oat milk") == true)
            await client.close()
        }
    }

    @Test func twoTabsOnTwoGatewaysAnsweringAtOnceGetOneDecisionFiftyTimes() async throws {
        try await withDeployment(workers: 2, environment: ["HERALD_OFFLINE_DELAY_MS": "1"]) { deployment in
            let other = try await deployment.startAnotherGateway()
            let first = try await deployment.connect()
            let token = try #require(first.established.guestToken)
            let second = try await ChatTestClient.connect(port: other.port, token: token)
            #expect(second.userID == first.userID)
            var thread: String?
            var approvals = 0
            for round in 0..<50 {
                let queued = try await first.startRun("save a note: round \(round)", threadID: thread)
                if thread == nil {
                    thread = queued.threadID
                    try await second.send(.resume(.init(threadID: queued.threadID, afterSeq: 0)))
                }
                let request = try await Self.request(of: queued.runID, in: first)
                _ = try await Self.request(of: queued.runID, in: second)
                async let approving: Void = first.send(Self.approve(request.approvalID))
                async let denying: Void = second.send(Self.deny(request.approvalID))
                _ = try await (approving, denying)
                let seenFirst = try await Self.resolution(of: request.approvalID, in: first)
                let seenSecond = try await Self.resolution(of: request.approvalID, in: second)
                #expect(seenFirst == seenSecond)
                let firstEnd = try await first.events(untilEndOf: queued.runID)
                let secondEnd = try await second.events(untilEndOf: queued.runID)
                #expect(firstEnd.filter { $0.type == .approvalResolved }.count == 1)
                #expect(secondEnd.filter { $0.type == .approvalResolved }.count == 1)
                // The loser heard `conflict`; the winner heard nothing but the event.
                let loser = seenFirst.decision == .approved ? second : first
                let winner = seenFirst.decision == .approved ? first : second
                #expect(try await Self.error(about: request.approvalID, in: loser) == .conflict)
                #expect(await Self.errors(about: request.approvalID, in: loser) == ["conflict"])
                #expect(await Self.errors(about: request.approvalID, in: winner).isEmpty)
                #expect(firstEnd.toolCompletions.map(\.status) == [seenFirst.decision == .approved ? .success : .denied])
                if seenFirst.decision == .approved { approvals += 1 }
            }
            print("approval race: 50 rounds, \(approvals) approved first, \(50 - approvals) denied first")
            expectValidRuns(await first.receivedEvents)
            expectValidRuns(await second.receivedEvents)
            let notes = try await deployment.redis.reply(["HLEN", "herald:user:{\(first.userID)}:notes"]).int
            #expect(notes == approvals)
            await first.close()
            await second.close()
        }
    }

    @Test func editsDenialsCancellationsAndBadAnswersEachDoWhatTheySay() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = try await deployment.connect()
            let stranger = try await deployment.connect()

            // Approved with edited arguments: the tool runs with them, and the event shows them.
            let edited = try await client.startRun("save a note: draft")
            let editRequest = try await Self.request(of: edited.runID, in: client)
            let worker = try #require(deployment.workers.first)
            // The paused-runs gauge is the deployment's, counted by each worker's sweep.
            try await waitUntil("the worker counts the paused run") {
                Self.value(of: "herald_worker_runs_paused", in: try await HTTPProbe.get(port: worker.port, path: "/metrics").body) == 1
            }
            try await stranger.send(Self.approve(editRequest.approvalID))
            #expect(
                try await stranger.nextError()
                    == ProtocolError(.forbidden, "approval \(editRequest.approvalID) belongs to another user", ref: editRequest.approvalID)
            )
            try await client.send(Self.approve(editRequest.approvalID, arguments: ["text": "final wording"]))
            let editFrames = try await client.events(untilEndOf: edited.runID)
            expectValidRuns(editFrames)
            let resolved = try #require(editFrames.payloads { if case .approvalResolved(let body) = $0 { body } else { nil } }.first)
            #expect(resolved.decision == .approved)
            #expect(resolved.arguments == ["text": "final wording"])
            #expect(resolved.decidedBy == client.userID)
            #expect(editFrames.toolCompletions.first?.result?["text"] == "final wording")
            // Answering again is a conflict, not a second decision.
            try await client.send(Self.deny(editRequest.approvalID))
            #expect(try await client.nextError().code == .conflict)

            // Denied with a reason: the tool does not run, the model is told, and the run completes.
            let denied = try await client.startRun("save a note: never mind", threadID: edited.threadID)
            let denyRequest = try await Self.request(of: denied.runID, in: client)
            try await client.send(Self.deny(denyRequest.approvalID, reason: "not this one"))
            let denyFrames = try await client.events(untilEndOf: denied.runID)
            expectValidRuns(denyFrames)
            #expect(denyFrames.toolCompletions.map(\.status) == [.denied])
            #expect(denyFrames.terminal?.type == .agentCompleted)
            #expect(denyFrames.finalReport?.report.contains("I did not run save_note") == true)

            // Cancelled while paused: resolved as cancelled, the tool cancelled, the run ends cancelled.
            let cancelled = try await client.startRun("save a note: later", threadID: edited.threadID)
            let cancelRequest = try await Self.request(of: cancelled.runID, in: client)
            try await client.send(.cancelRun(runID: cancelled.runID))
            let cancelFrames = try await client.events(untilEndOf: cancelled.runID)
            expectValidRuns(cancelFrames)
            let cancelResolution = try await Self.resolution(of: cancelRequest.approvalID, in: client)
            #expect(cancelResolution.decision == .cancelled)
            #expect(cancelFrames.toolCompletions.map(\.status) == [.cancelled])
            #expect(cancelFrames.terminal?.event.payload.agentCompletionStatus == .cancelled)

            // Unknown and malformed answers.
            try await client.send(Self.approve("apr_nosuchapproval"))
            #expect(try await client.nextError().code == .notFound)
            try await client.sendRaw(#"{"type":"approval_response","approval_id":"apr_1","decision":"perhaps"}"#)
            #expect(try await client.nextError().code == .badRequest)
            try await client.sendRaw(#"{"type":"approval_response","approval_id":"../../etc","decision":"approve"}"#)
            #expect(try await client.nextError().code == .badRequest)

            let notes = try await deployment.redis.reply(["HVALS", "herald:user:{\(client.userID)}:notes"]).array ?? []
            #expect(notes.map { $0.string?.contains("final wording") == true } == [true])

            let workerMetrics = try await HTTPProbe.get(port: worker.port, path: "/metrics").body
            #expect(Self.value(of: "herald_worker_run_pauses_total", in: workerMetrics) == 3)
            #expect(workerMetrics.contains(#"herald_worker_approval_decisions_total{decision="approved"} 1"#))
            #expect(workerMetrics.contains(#"herald_worker_approval_decisions_total{decision="denied"} 1"#))
            #expect(workerMetrics.contains(#"herald_worker_approval_decisions_total{decision="cancelled"} 1"#))
            #expect(Self.value(of: "herald_worker_approval_decision_seconds_count", in: workerMetrics) == 3)
            let gatewayMetrics = try await HTTPProbe.get(port: deployment.gatewayPort, path: "/metrics").body
            #expect(gatewayMetrics.contains(#"herald_gateway_approval_responses_total{outcome="approved"} 1"#))
            #expect(gatewayMetrics.contains(#"herald_gateway_approval_responses_total{outcome="denied"} 1"#))
            #expect(gatewayMetrics.contains(#"herald_gateway_approval_responses_total{outcome="conflict"} 1"#))
            await client.close()
            await stranger.close()
        }
    }

    @Test func aRequestNobodyAnswersExpiresAndTheCallIsDenied() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_APPROVAL_TIMEOUT_SECONDS": "1"]) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("save a note: too slow")
            let request = try await Self.request(of: queued.runID, in: client)
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            let resolution = try await Self.resolution(of: request.approvalID, in: client)
            #expect(resolution.decision == .expired)
            #expect(resolution.decidedBy == nil)
            #expect(frames.toolCompletions.map(\.status) == [.denied])
            #expect(frames.terminal?.type == .agentCompleted)
            try await client.send(Self.approve(request.approvalID))
            #expect(try await client.nextError().code == .conflict)
            await client.close()
        }
    }

    @Test func aTabThatResumesWhileTheRunIsPausedSeesTheRequestAndAnswersIt() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_APPROVAL_TOOLS": "calculator"]) { deployment in
            let first = try await deployment.connect()
            let token = try #require(first.established.guestToken)
            let queued = try await first.startRun("what is 6*7?")
            let request = try await Self.request(of: queued.runID, in: first)
            #expect(request.toolName == "calculator")
            await first.close()

            let later = try await deployment.connect(token: token)
            try await later.send(.resume(.init(threadID: queued.threadID, afterSeq: 0)))
            let seen = try await Self.request(of: queued.runID, in: later)
            #expect(seen == request)
            try await later.send(Self.approve(seen.approvalID))
            let frames = try await later.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.finalReport?.report.contains("6*7 = 42") == true)
            await later.close()
        }
    }
}

extension EventPayload {
    /// The status of an `agent_completed`, nil for any other event.
    fileprivate var agentCompletionStatus: AgentCompletionStatus? {
        if case .agentCompleted(let body) = self { return body.status }
        return nil
    }
}
