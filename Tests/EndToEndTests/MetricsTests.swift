import HeraldTesting
import Testing

@Suite(.timeLimit(.minutes(2)))
struct MetricsTests {
    /// The value of an unlabelled sample in Prometheus text, or the sum over its labelled samples.
    private func value(of metric: String, in text: String) -> Double {
        text.split(separator: "\n")
            .filter { !$0.hasPrefix("#") && ($0.hasPrefix(metric + " ") || $0.hasPrefix(metric + "{")) }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }

    @Test func everyServiceCountsWhatARunDid() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is (17*3)+4?")
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)

            let gateway = try await HTTPProbe.get(port: deployment.gatewayPort, path: "/metrics")
            #expect(gateway.status == 200)
            #expect(gateway.body.contains("# HELP herald_gateway_event_latency_seconds"))
            #expect(value(of: "herald_gateway_runs_queued_total", in: gateway.body) == 1)
            #expect(value(of: "herald_gateway_frames_sent_total", in: gateway.body) >= Double(frames.count))
            #expect(value(of: "herald_gateway_event_latency_seconds_count", in: gateway.body) >= Double(frames.count))
            #expect(value(of: "herald_gateway_connections", in: gateway.body) == 1)

            let relay = try await HTTPProbe.get(port: deployment.relays[0].port, path: "/metrics")
            #expect(value(of: "herald_relay_events_published_total", in: relay.body) == Double(frames.count))
            #expect(value(of: "herald_relay_event_delay_seconds_count", in: relay.body) == Double(frames.count))
            #expect(relay.body.contains("# HELP herald_runs_waiting"))
            #expect(relay.body.contains("# HELP herald_oldest_queued_run_age_seconds"))

            let worker = try await HTTPProbe.get(port: deployment.workers[0].port, path: "/metrics")
            #expect(value(of: "herald_worker_runs_started_total", in: worker.body) == 1)
            #expect(value(of: "herald_worker_runs_completed_total", in: worker.body) == 1)

            for body in [gateway.body, relay.body, worker.body] {
                #expect(value(of: "herald_redis_connections_opened", in: body) >= 1)
            }
            for process in [deployment.relays[0], deployment.workers[0]] {
                #expect(try await HTTPProbe.status(port: process.port, path: "/healthz") == 200)
                #expect(try await HTTPProbe.status(port: process.port, path: "/readyz") == 200)
            }
            await client.close()
        }
    }

    @Test func readinessFollowsRedis() async throws {
        try await withDeployment(workers: 1) { deployment in
            await deployment.redis.kill()
            for process in [deployment.gateway!, deployment.relays[0], deployment.workers[0]] {
                #expect(try await HTTPProbe.status(port: process.port, path: "/readyz") == 503, "\(process.name) still ready without Redis")
                #expect(try await HTTPProbe.status(port: process.port, path: "/healthz") == 200)
            }
            try await deployment.redis.restart()
            // Services reconnect with backoff: wait until each is ready again, then run something.
            for process in [deployment.gateway!, deployment.relays[0], deployment.workers[0]] {
                try await HeraldDeployment.waitUntilReady(port: process.port, process: process)
            }
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is 2+2?")
            expectValidRuns(try await client.events(untilEndOf: queued.runID))
            // Each service had to re-make its Redis connections, and says so.
            for process in [deployment.gateway!, deployment.relays[0], deployment.workers[0]] {
                let metrics = try await HTTPProbe.get(port: process.port, path: "/metrics").body
                #expect(value(of: "herald_redis_connections_opened", in: metrics) >= 2, "\(process.name)")
            }
            await client.close()
        }
    }

    @Test func aTenSecondRedisOutageMidRunLosesNothing() async throws {
        try await withDeployment(
            workers: 1,
            environment: ["HERALD_RUN_LEASE_SECONDS": "30", "HERALD_OFFLINE_DELAY_MS": "20"],
            redisArguments: ["--appendonly", "yes", "--appendfsync", "always"]
        ) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("wait 2 seconds then tell me how herald recovers when redis goes away")
            _ = try await client.firstMatch { frame -> Bool? in
                if case .event(let event) = frame, event.runID == queued.runID, event.type == .toolExecuting { return true }
                return nil
            }
            await deployment.redis.kill()
            for process in [deployment.gateway!, deployment.relays[0], deployment.workers[0]] {
                #expect(try await HTTPProbe.status(port: process.port, path: "/readyz") == 503, "\(process.name)")
            }
            // The outage itself: ten seconds without Redis, as the operator's scenario says.
            try await Task.sleep(for: .seconds(10))
            let stillRunning = [deployment.gateway!, deployment.relays[0], deployment.workers[0]].filter(\.isRunning).count
            #expect(stillRunning == 3, "a process exited while Redis was away")
            try await deployment.redis.restart()
            let frames = try await client.events(untilEndOf: queued.runID)
            // Every frame the connection saw, across the outage: no gap, no duplicate, a proper ending.
            let seen = await client.receivedEvents
            expectValidRuns(seen)
            guard case .agentCompleted(let completed) = frames.terminal?.event.payload else {
                Issue.record("expected the run to complete after the outage, got \(String(describing: frames.terminal))")
                return
            }
            #expect(completed.status == .success)
            let next = try await client.startRun("what is 7*6?", threadID: queued.threadID)
            let nextFrames = try await client.events(untilEndOf: next.runID)
            #expect(nextFrames.finalReport?.report.contains("42") == true)
            let everything = await client.receivedEvents
            expectValidRuns(everything)
            await client.close()
        }
    }
}
