/// One breach of the run rules (DESIGN.md section 6).
public struct RunRuleViolation: Sendable, Equatable, CustomStringConvertible {
    public var rule: Int
    public var threadID: String
    public var runID: String?
    public var seq: Int?
    public var message: String

    public init(rule: Int, threadID: String, runID: String?, seq: Int?, message: String) {
        self.rule = rule
        self.threadID = threadID
        self.runID = runID
        self.seq = seq
        self.message = message
    }

    public var description: String {
        "rule \(rule) [thread \(threadID)\(runID.map { " run \($0)" } ?? "")\(seq.map { " seq \($0)" } ?? "")]: \(message)"
    }
}

/// Checks a stream of event frames, as one connection saw them, against rules 1–5 and 10 of DESIGN.md section 6.
///
/// Feed frames in arrival order with `observe`; `finish` adds what can only be judged at the end
/// (runs still open). Tests and the benchmark run every frame they receive through it.
public struct RunRulesValidator: Sendable {
    private struct OpenTool: Sendable {
        var toolCallID: String
        var agentName: String
        var approval: Approval = .none
    }

    /// Where an open tool call stands with its approval (rule 10).
    private enum Approval: Sendable, Equatable {
        case none
        case requested(approvalID: String)
        case resolved(ApprovalDecision)
    }

    private struct RunState: Sendable {
        var agentStack: [String] = []
        var openTools: [OpenTool] = []
        var finalReports = 0
        var terminated = false
        var started = false
        var approvalIDs: Set<String> = []
    }

    private struct ThreadState: Sendable {
        var epoch: String
        var lastSeq: Int
    }

    private var runs: [String: RunState] = [:]
    private var runOrder: [String] = []
    private var threads: [String: ThreadState] = [:]
    public private(set) var violations: [RunRuleViolation] = []
    public private(set) var framesObserved = 0

    public init() {}

    /// Runs whose terminal event was seen.
    public var terminatedRunIDs: [String] {
        runOrder.filter { runs[$0]?.terminated == true }
    }

    /// Every run seen, in the order its first event arrived.
    public var runIDs: [String] { runOrder }

    public mutating func observe(_ frame: EventFrame) {
        framesObserved += 1
        checkSequence(frame)
        checkRun(frame)
    }

    /// The violations, including runs that never ended when `requireComplete` is set.
    public func finish(requireComplete: Bool = true) -> [RunRuleViolation] {
        guard requireComplete else { return violations }
        var all = violations
        for runID in runOrder {
            guard let run = runs[runID], !run.terminated else { continue }
            all.append(
                RunRuleViolation(rule: 1, threadID: "?", runID: runID, seq: nil, message: "run never ended with the supervisor's terminal event")
            )
        }
        return all
    }

    /// Validates a whole recording at once.
    public static func validate(_ frames: [EventFrame], requireComplete: Bool = true) -> [RunRuleViolation] {
        var validator = RunRulesValidator()
        for frame in frames { validator.observe(frame) }
        return validator.finish(requireComplete: requireComplete)
    }

    // MARK: Rule 5

    private mutating func checkSequence(_ frame: EventFrame) {
        let threadID = frame.threadID
        guard let state = threads[threadID], state.epoch == frame.epoch else {
            // A thread's first frame on this connection, or a new epoch, starts the count afresh.
            threads[threadID] = ThreadState(epoch: frame.epoch, lastSeq: frame.seq)
            return
        }
        if frame.seq != state.lastSeq + 1 {
            let what = frame.seq <= state.lastSeq ? "duplicate or out-of-order" : "gap"
            violate(5, frame, "\(what): seq \(frame.seq) after \(state.lastSeq)")
        }
        threads[threadID]?.lastSeq = max(state.lastSeq, frame.seq)
    }

    // MARK: Rules 1–4

    private mutating func checkRun(_ frame: EventFrame) {
        let event = frame.event
        var run =
            runs[event.runID]
            ?? {
                runOrder.append(event.runID)
                return RunState()
            }()
        defer { runs[event.runID] = run }

        if run.terminated {
            violate(1, frame, "\(event.type.rawValue) after the run's terminal event")
            return
        }
        if !run.started {
            run.started = true
            guard case .agentStarted(let started) = event.payload, event.agentName == AgentName.supervisor, started.parentAgent == nil else {
                violate(1, frame, "first event of the run is \(event.type.rawValue) of \(event.agentName), not the supervisor's agent_started")
                return
            }
            run.agentStack = [AgentName.supervisor]
            return
        }

        switch event.payload {
        case .agentStarted(let started):
            if event.agentName == AgentName.supervisor {
                violate(1, frame, "the supervisor started twice")
            }
            if let parent = started.parentAgent, parent != run.agentStack.last {
                violate(2, frame, "agent \(event.agentName) started under \(parent), but the open agent is \(run.agentStack.last ?? "none")")
            }
            run.agentStack.append(event.agentName)

        case .agentThinking, .partialResult:
            requireOpen(event.agentName, in: run, frame)

        case .toolExecuting(let tool):
            requireOpen(event.agentName, in: run, frame)
            if run.openTools.contains(where: { $0.toolCallID == tool.toolCallID }) {
                violate(3, frame, "tool call \(tool.toolCallID) executing twice")
            }
            run.openTools.append(OpenTool(toolCallID: tool.toolCallID, agentName: event.agentName))

        case .toolCompleted(let tool):
            if let index = run.openTools.firstIndex(where: { $0.toolCallID == tool.toolCallID }) {
                checkCompletion(tool, approval: run.openTools[index].approval, frame)
                run.openTools.remove(at: index)
            } else {
                violate(3, frame, "tool_completed for \(tool.toolCallID) without an open tool_executing")
            }

        case .approvalRequested(let request):
            guard let index = run.openTools.firstIndex(where: { $0.toolCallID == request.toolCallID }) else {
                violate(10, frame, "approval_requested for \(request.toolCallID) without an open tool_executing")
                return
            }
            if run.openTools[index].approval != .none {
                violate(10, frame, "a second approval_requested for tool call \(request.toolCallID)")
            }
            if !run.approvalIDs.insert(request.approvalID).inserted {
                violate(10, frame, "approval \(request.approvalID) requested twice")
            }
            run.openTools[index].approval = .requested(approvalID: request.approvalID)

        case .approvalResolved(let resolution):
            guard let index = run.openTools.firstIndex(where: { $0.toolCallID == resolution.toolCallID }) else {
                violate(10, frame, "approval_resolved for \(resolution.toolCallID), which is not an open tool call")
                return
            }
            switch run.openTools[index].approval {
            case .requested(let approvalID) where approvalID == resolution.approvalID:
                run.openTools[index].approval = .resolved(resolution.decision)
            case .requested(let approvalID):
                violate(10, frame, "approval_resolved names \(resolution.approvalID), but the request was \(approvalID)")
            case .none:
                violate(10, frame, "approval_resolved for \(resolution.toolCallID) without an approval_requested")
            case .resolved:
                violate(10, frame, "approval \(resolution.approvalID) resolved twice")
            }

        case .finalReport:
            run.finalReports += 1
            if run.finalReports > 1 {
                violate(4, frame, "more than one final_report")
            }

        case .agentCompleted, .agentError:
            close(event.agentName, in: &run, frame)
        }
    }

    /// Rule 10's end: a tool whose approval was asked completes only after the decision, and runs only if approved.
    private mutating func checkCompletion(_ tool: EventPayload.ToolCompleted, approval: Approval, _ frame: EventFrame) {
        switch approval {
        case .none:
            if tool.status == .denied {
                violate(10, frame, "tool call \(tool.toolCallID) completed denied without an approval request")
            }
        case .requested:
            violate(10, frame, "tool call \(tool.toolCallID) completed before its approval_resolved")
        case .resolved(.approved):
            if tool.status == .denied {
                violate(10, frame, "tool call \(tool.toolCallID) completed denied although it was approved")
            }
        case .resolved(.cancelled):
            if tool.status != .cancelled, tool.status != .denied {
                violate(10, frame, "tool call \(tool.toolCallID) completed \(tool.status.rawValue) after its approval was cancelled")
            }
        case .resolved(let decision):
            if tool.status != .denied {
                violate(10, frame, "tool call \(tool.toolCallID) completed \(tool.status.rawValue) after its approval was \(decision.rawValue)")
            }
        }
    }

    private mutating func requireOpen(_ agentName: String, in run: RunState, _ frame: EventFrame) {
        if !run.agentStack.contains(agentName) {
            violate(2, frame, "\(frame.type.rawValue) from agent \(agentName), which is not open")
        }
    }

    private mutating func close(_ agentName: String, in run: inout RunState, _ frame: EventFrame) {
        guard let top = run.agentStack.last else { return }
        if top != agentName {
            violate(2, frame, "agent \(agentName) closed while \(top) is still open (not nested)")
            guard let index = run.agentStack.lastIndex(of: agentName) else {
                violate(2, frame, "agent \(agentName) closed but never started")
                return
            }
            run.agentStack.removeSubrange(index...)
        } else {
            run.agentStack.removeLast()
        }
        let unclosedTools = run.openTools.filter { $0.agentName == agentName }
        for tool in unclosedTools {
            violate(3, frame, "agent \(agentName) closed with tool call \(tool.toolCallID) still open")
            if case .requested(let approvalID) = tool.approval {
                violate(10, frame, "agent \(agentName) closed with approval \(approvalID) never resolved")
            }
        }
        run.openTools.removeAll { $0.agentName == agentName }
        if agentName == AgentName.supervisor {
            run.terminated = true
            if run.finalReports > 0, case .agentError = frame.event.payload {
                // A failed run may have reported before failing; rule 4 only orders the report before success.
            }
        }
    }

    private mutating func violate(_ rule: Int, _ frame: EventFrame, _ message: String) {
        violations.append(RunRuleViolation(rule: rule, threadID: frame.threadID, runID: frame.runID, seq: frame.seq, message: message))
    }
}
