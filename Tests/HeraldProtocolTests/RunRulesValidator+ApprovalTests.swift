import HeraldProtocol
import Testing

/// Rule 10: every `approval_requested` follows its `tool_executing`, is resolved exactly once, and the tool completes
/// after the decision, `denied` unless approved.
@Suite struct RunRulesValidatorApprovalTests {
    private struct Run {
        var frames: [EventFrame] = []
        let run = "r1"

        mutating func add(_ agent: String, _ payload: EventPayload) {
            frames.append(
                EventFrame(seq: frames.count + 1, epoch: "e1", event: AgentEvent(threadID: "thr", runID: run, agentName: agent, payload: payload))
            )
        }

        mutating func open() {
            add("supervisor", .agentStarted(.init(agentName: "supervisor")))
            add("assistant", .agentStarted(.init(agentName: "assistant", parentAgent: "supervisor")))
        }

        mutating func executing(_ call: String = "c1") {
            add("assistant", .toolExecuting(.init(toolCallID: call, toolName: "save_note", arguments: ["text": "x"])))
        }

        mutating func requested(_ approval: String = "apr_1", call: String = "c1") {
            add(
                "assistant",
                .approvalRequested(
                    .init(
                        approvalID: approval,
                        toolCallID: call,
                        toolName: "save_note",
                        arguments: ["text": "x"],
                        expiresAt: "2026-12-07T00:10:00.000Z"
                    )
                )
            )
        }

        mutating func resolved(_ decision: ApprovalDecision, _ approval: String = "apr_1", call: String = "c1") {
            add("assistant", .approvalResolved(.init(approvalID: approval, toolCallID: call, decision: decision, arguments: ["text": "x"])))
        }

        mutating func completed(_ status: ToolStatus, call: String = "c1") {
            add("assistant", .toolCompleted(.init(toolCallID: call, toolName: "save_note", status: status, durationMs: 1)))
        }

        mutating func close() {
            add("assistant", .agentCompleted(.init(agentName: "assistant", status: .success, durationMs: 1)))
            add("supervisor", .agentCompleted(.init(agentName: "supervisor", status: .success, durationMs: 1)))
        }

        var rule10: [RunRuleViolation] { RunRulesValidator.validate(frames).filter { $0.rule == 10 } }
        var all: [RunRuleViolation] { RunRulesValidator.validate(frames) }
    }

    @Test(arguments: [
        (ApprovalDecision.approved, ToolStatus.success), (.approved, .error), (.approved, .timeout), (.denied, .denied), (.expired, .denied),
        (.cancelled, .cancelled),
    ])
    func aDecidedCallThatCompletesAsDecidedPasses(decision: ApprovalDecision, status: ToolStatus) {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        run.resolved(decision)
        run.completed(status)
        run.close()
        #expect(run.all.isEmpty)
    }

    @Test func aRequestWithoutItsToolExecutingIsCaught() {
        var run = Run()
        run.open()
        run.requested()
        run.executing()
        run.resolved(.approved)
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("without an open tool_executing") })
    }

    @Test func aSecondRequestForOneCallIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.requested("apr_1")
        run.requested("apr_2")
        run.resolved(.approved, "apr_2")
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("second approval_requested") })
    }

    @Test func aSecondResolutionIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        run.resolved(.approved)
        run.resolved(.denied)
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("resolved twice") })
    }

    @Test func aResolutionWithoutARequestIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.resolved(.approved)
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("without an approval_requested") })
    }

    @Test func aResolutionNamingAnotherRequestIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.requested("apr_1")
        run.resolved(.approved, "apr_other")
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("but the request was apr_1") })
    }

    @Test func aCompletionBeforeTheDecisionIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("completed before its approval_resolved") })
    }

    @Test(arguments: [ApprovalDecision.denied, .expired])
    func aToolThatRanAfterADenialIsCaught(decision: ApprovalDecision) {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        run.resolved(decision)
        run.completed(.success)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("after its approval was \(decision.rawValue)") })
    }

    @Test func anApprovedCallCompletedDeniedIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        run.resolved(.approved)
        run.completed(.denied)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("although it was approved") })
    }

    @Test func aDenialWithoutARequestIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.completed(.denied)
        run.close()
        #expect(run.rule10.contains { $0.message.contains("without an approval request") })
    }

    @Test func aRunThatEndsWithARequestOpenIsCaught() {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        run.close()
        #expect(run.rule10.contains { $0.message.contains("never resolved") })
        #expect(run.all.contains { $0.rule == 3 })
    }

    @Test func oneApprovalIDUsedTwiceInARunIsCaught() {
        var run = Run()
        run.open()
        run.executing("c1")
        run.requested("apr_1", call: "c1")
        run.resolved(.approved, "apr_1", call: "c1")
        run.completed(.success, call: "c1")
        run.executing("c2")
        run.requested("apr_1", call: "c2")
        run.resolved(.approved, "apr_1", call: "c2")
        run.completed(.success, call: "c2")
        run.close()
        #expect(run.rule10.contains { $0.message.contains("requested twice") })
    }

    @Test func aPausedRunIsOpenNotBroken() {
        var run = Run()
        run.open()
        run.executing()
        run.requested()
        #expect(RunRulesValidator.validate(run.frames, requireComplete: false).isEmpty)
    }
}
