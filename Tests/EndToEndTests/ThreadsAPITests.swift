import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Testing

/// The threads and messages API (DESIGN.md section 9) over the real executables: conversations kept whole beyond
/// the event history, threads kept to their owners, deletion that leaves nothing behind, and expiries.
@Suite(.timeLimit(.minutes(6)))
struct ThreadsAPITests {
    @Test("a thread of 50 runs with 2,000-word answers returns all 100 messages after its history was trimmed and expired")
    func conversationsOutliveTheEventHistory() async throws {
        let model = try await ScriptedModelServer.start()
        let runs = 50
        let answers = (1...runs).map { run in (1...2_000).map { " word\(run)x\($0)" } }
        for answer in answers {
            await model.enqueue(ScriptedModelServer.stream(ProviderTranscripts.triage("A long answer; no tools needed.")))
            await model.enqueue(ScriptedModelServer.tokenStream(answer))
        }
        let environment = [
            "HERALD_LLM_BASE_URL": model.baseURL, "HERALD_LLM_MODEL": "scripted-long",
            // A small window that expires soon: the messages must not depend on it.
            "HERALD_HISTORY_SIZE": "10", "HERALD_HISTORY_TTL_SECONDS": "3",
        ]
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let tab = try await deployment.connect()
            let api = try ThreadsAPI(tab, port: deployment.gatewayPort)
            var threadID: String?
            var reports: [String] = []
            var runIDs: [String] = []
            for run in 1...runs {
                let queued = try await tab.startRun("question \(run): tell me at length", threadID: threadID)
                threadID = queued.threadID
                runIDs.append(queued.runID)
                let events = try await tab.events(untilEndOf: queued.runID)
                reports.append(try #require(events.finalReport?.report))
            }
            let thread = try #require(threadID)
            let historyKey = RedisKeys(prefix: "herald").threadHistory(thread)
            try await waitUntil("the thread's event history expires") {
                try await deployment.redis.reply(["EXISTS", historyKey]).int == 0
            }

            // Pages of 7 split runs' pairs of messages: paging must still give each message once, in order.
            let messages = try await api.allMessages(thread, pageSize: 7)
            #expect(messages.count == 2 * runs)
            #expect(messages.map(\.role) == Array(repeating: ["user", "assistant"], count: runs).flatMap { $0 })
            #expect(messages.map(\.runID) == runIDs.flatMap { [$0, $0] })
            let questions = messages.filter { $0.role == "user" }.map(\.content)
            #expect(questions == (1...runs).map { "question \($0): tell me at length" })
            let answered = messages.filter { $0.role == "assistant" }
            let wholeAnswers = answered.map(\.content) == reports
            #expect(wholeAnswers, "the stored answers differ from the final reports")
            #expect(answered.allSatisfy { $0.status == "complete" && $0.toolCalls == nil })
            #expect(answered.allSatisfy { $0.content.split(separator: " ").count == 2_000 })
            #expect(Set(messages.map(\.messageID)).count == messages.count)
            // The newest page by default: the last run's exchange.
            let newest = try await api.messages(thread, limit: 2)
            #expect(newest.messages.map(\.runID) == [runIDs[runs - 1], runIDs[runs - 1]])
            #expect(newest.nextCursor != nil)
            await tab.close()
        }
        try await model.stop()
    }

    @Test("every route serves only the owner's threads, pages by cursor, and refuses bad input with a JSON error")
    func routesKeepThreadsToTheirOwner() async throws {
        try await withDeployment(workers: 1) { deployment in
            let alice = try await deployment.connect()
            let bob = try await deployment.connect()
            let aliceAPI = try ThreadsAPI(alice, port: deployment.gatewayPort)
            let bobAPI = try ThreadsAPI(bob, port: deployment.gatewayPort)
            var aliceThreads: [String] = []
            for number in 1...5 {
                let queued = try await alice.startRun("what is \(number)+\(number)?")
                _ = try await alice.events(untilEndOf: queued.runID)
                aliceThreads.append(queued.threadID)
            }
            let bobsRun = try await bob.startRun("what is 6*7?")
            _ = try await bob.events(untilEndOf: bobsRun.runID)

            // Newest first, each once, across pages of two.
            let listed = try await aliceAPI.allThreads(pageSize: 2)
            #expect(listed.map(\.threadID) == aliceThreads.reversed())
            #expect(listed.allSatisfy { $0.activeRunID == nil })
            #expect(listed.last?.title == "what is 1+1?")
            #expect(try await bobAPI.allThreads(pageSize: 20).map(\.threadID) == [bobsRun.threadID])

            // The thread with its messages: the calculator call and the answer.
            let first = try await aliceAPI.thread(aliceThreads[0])
            #expect(first.preview.contains("2"))
            let messages = try await aliceAPI.messages(aliceThreads[0]).messages
            #expect(messages.map(\.content).first == "what is 1+1?")
            let call = try #require(messages.last?.toolCalls?.first)
            #expect(call.toolName == "calculator" && call.status == "success")
            #expect(call.arguments == ["expression": "1+1"])

            // Someone else's thread is not found, on every route, exactly as a thread that does not exist.
            let theirs = aliceThreads[0]
            for (method, path, body) in [
                ("GET", "/api/threads/\(theirs)", nil), ("PATCH", "/api/threads/\(theirs)", #"{"title":"mine now"}"#),
                ("DELETE", "/api/threads/\(theirs)", nil), ("GET", "/api/threads/\(theirs)/messages", nil),
                ("GET", "/api/threads/thr_doesnotexist", nil),
            ] as [(String, String, String?)] {
                #expect(try await bobAPI.error(method, path, body: body, status: 404) == .init(error: "not_found", message: "no such thread"))
            }
            #expect(try await aliceAPI.thread(theirs).title == "what is 1+1?")

            // No token, or a forged one: 401 before anything else.
            let anonymous = ThreadsAPI(port: deployment.gatewayPort, token: nil)
            #expect(try await anonymous.error("GET", "/api/threads", status: 401).error == "unauthorized")
            let forged = ThreadsAPI(port: deployment.gatewayPort, token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
            #expect(try await forged.error("GET", "/api/threads/\(theirs)", status: 401).error == "unauthorized")
            // The token also works as `?token=`, as on /ws.
            let byQuery = try await HTTPProbe.get(
                port: deployment.gatewayPort,
                path: "/api/threads?token=\(try #require(alice.established.guestToken))"
            )
            #expect(byQuery.status == 200)

            // Bad parameters and bodies.
            for path in [
                "/api/threads?limit=0", "/api/threads?limit=101", "/api/threads?limit=x", "/api/threads?cursor=nonsense",
                "/api/threads/\(theirs)/messages?limit=0", "/api/threads/\(theirs)/messages?before=1.7",
            ] {
                #expect(try await aliceAPI.error("GET", path, status: 400).error == "bad_request", "\(path)")
            }
            for body in [
                "", "[]", "{}", #"{"title":""}"#, #"{"title":"   "}"#, #"{"title":7}"#, #"{"title":"ok","extra":1}"#, "{not json",
                #"{"title":"\#(String(repeating: "x", count: 201))"}"#,
            ] {
                #expect(try await aliceAPI.error("PATCH", "/api/threads/\(theirs)", body: body, status: 400).error == "bad_request", "\(body)")
            }
            let huge = #"{"title":"\#(String(repeating: "x", count: 2_000_000))"}"#
            #expect(try await aliceAPI.error("PATCH", "/api/threads/\(theirs)", body: huge, status: 413).error == "too_large")

            // Methods a route does not take, and paths no route has, get JSON too.
            let post = try await aliceAPI.call("POST", "/api/threads", body: "{}")
            #expect(post.status == 405 && post.head.contains("Allow: GET"))
            #expect(try await aliceAPI.error("PUT", "/api/threads/\(theirs)", body: "{}", status: 405).error == "bad_request")
            #expect(try await aliceAPI.error("GET", "/api/nothing", status: 404).error == "not_found")

            // Rename: the new title, trimmed; the list shows it.
            let renamed = try aliceAPI.decode(
                ThreadsAPI.Thread.self,
                try await aliceAPI.call("PATCH", "/api/threads/\(theirs)", body: #"{"title":"  Sums  "}"#)
            )
            #expect(renamed.title == "Sums")
            #expect(try await aliceAPI.allThreads(pageSize: 10).first { $0.threadID == theirs }?.title == "Sums")
            // The list is ordered by `updated_at`, when each thread's latest message was sent: a rename moves nothing.
            let afterRename = try await aliceAPI.allThreads(pageSize: 10)
            #expect(afterRename.map(\.threadID) == aliceThreads.reversed())
            #expect(afterRename.map(\.updatedAt) == afterRename.map(\.updatedAt).sorted(by: >))
            // A cursor past the newest message pages from the newest.
            #expect(try await aliceAPI.messages(theirs, before: "999.0").messages.count == 2)
            await alice.close()
            await bob.close()
        }
    }

    @Test("a user's API requests over HERALD_RATE_LIMIT_BURST get 429 rate_limited with Retry-After; another user's do not")
    func requestsAreRateLimitedPerUser() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_RATE_LIMIT_PER_SECOND": "1", "HERALD_RATE_LIMIT_BURST": "3"]) { deployment in
            let alice = try await deployment.connect()
            let bob = try await deployment.connect()
            let aliceAPI = try ThreadsAPI(alice, port: deployment.gatewayPort)
            var responses: [HTTPProbe.Response] = []
            for _ in 0..<8 { responses.append(try await aliceAPI.call("GET", "/api/threads")) }
            let statuses = responses.map(\.status)
            // A burst of three, then at most one more for each second the eight requests took.
            #expect(statuses.prefix(3).allSatisfy { $0 == 200 })
            #expect(statuses.filter { $0 == 429 }.count >= 3, "\(statuses)")
            let refused = try #require(responses.first { $0.status == 429 })
            #expect(refused.head.contains("Retry-After: 1"))
            #expect(refused.body.contains(#""error":"rate_limited""#))
            let bobAPI = try ThreadsAPI(bob, port: deployment.gatewayPort)
            #expect(try await bobAPI.call("GET", "/api/threads").status == 200)
            await alice.close()
            await bob.close()
        }
    }

    @Test("DELETE cancels the active run and removes every key of the thread and its runs")
    func deleteRemovesEverything() async throws {
        try await withDeployment(workers: 1) { deployment in
            let tab = try await deployment.connect()
            let api = try ThreadsAPI(tab, port: deployment.gatewayPort)
            let first = try await tab.startRun("what is 2+2?")
            _ = try await tab.events(untilEndOf: first.runID)
            let active = try await tab.startRun("wait 60 seconds", threadID: first.threadID)
            _ = try await tab.firstMatch { frame -> Bool? in
                if case .event(let event) = frame, event.runID == active.runID, event.event.type == .toolExecuting { return true }
                return nil
            }
            #expect(try await api.thread(first.threadID).activeRunID == active.runID)

            let deleted = try await api.call("DELETE", "/api/threads/\(first.threadID)")
            #expect(deleted.status == 204)
            // The run ended, cancelled, by the rules.
            let events = try await tab.events(untilEndOf: active.runID)
            expectValidRuns(events)
            #expect(events.toolCompletions.map(\.status) == [.cancelled])

            #expect(try await api.error("GET", "/api/threads/\(first.threadID)", status: 404).error == "not_found")
            #expect(try await api.allThreads(pageSize: 10).isEmpty)
            // Whatever the worker still did after the run ended (its conversation, its run record) left nothing.
            let gone = [first.threadID, first.runID, active.runID]
            try await waitUntil("the worker has finished with the run") {
                try await deployment.redis.reply(["EXISTS", RedisKeys(prefix: "herald").runLease(active.runID)]).int == 0
            }
            let left = try await deployment.redis.keysWithExpiry().map(\.key).filter { key in gone.contains { key.contains($0) } }
            #expect(left == [], "keys of the deleted thread left behind")
            await tab.close()
        }
    }

    @Test("a thread's record, messages and conversation, and its owner's list, expire after HERALD_THREAD_RETENTION_DAYS")
    func threadsExpireAfterTheRetention() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_THREAD_RETENTION_DAYS": "2", "HERALD_HISTORY_TTL_SECONDS": "600"]) { deployment in
            let tab = try await deployment.connect()
            let queued = try await tab.startRun("what is 3+4?")
            _ = try await tab.events(untilEndOf: queued.runID)
            let keys = RedisKeys(prefix: "herald")
            let retention = 2 * 86_400
            let long = [
                keys.thread(queued.threadID), keys.threadRuns(queued.threadID), keys.threadMessages(queued.threadID),
                keys.threadConversation(queued.threadID), keys.userThreads(tab.userID),
            ]
            try await waitUntil("the conversation is saved") {
                try await deployment.redis.reply(["EXISTS", keys.threadConversation(queued.threadID)]).int == 1
            }
            for key in long {
                let ttl = try #require(try await deployment.redis.reply(["TTL", key]).int)
                #expect(ttl > retention - 600 && ttl <= retention, "\(key): \(ttl) s")
            }
            // The event history keeps its own, shorter lifetime.
            let historyTTL = try #require(try await deployment.redis.reply(["TTL", keys.threadHistory(queued.threadID)]).int)
            #expect(historyTTL > 0 && historyTTL <= 600)
            await tab.close()
        }
    }
}
