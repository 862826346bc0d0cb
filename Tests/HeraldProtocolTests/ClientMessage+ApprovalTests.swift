import Foundation
import HeraldProtocol
import Testing

@Suite struct ClientMessageApprovalTests {
    private func decode(_ text: String) -> Result<ClientMessage, ProtocolError> {
        do {
            return .success(try ClientMessage.decode(Array(text.utf8)))
        } catch {
            return .failure(error)
        }
    }

    @Test func decodesAnApprovalWithEditedArgumentsAndAReason() throws {
        let text = #"{"type":"approval_response","approval_id":"apr_1","decision":"approve","arguments":{"text":"milk"},"reason":"ok"}"#
        #expect(
            try decode(text).get()
                == .approvalResponse(.init(approvalID: "apr_1", decision: .approve, arguments: ["text": "milk"], reason: "ok"))
        )
        #expect(
            try decode(#"{"type":"approval_response","approval_id":"apr_1","decision":"deny"}"#).get()
                == .approvalResponse(.init(approvalID: "apr_1", decision: .deny))
        )
    }

    @Test(arguments: [
        (#"{"type":"approval_response","decision":"approve"}"#, "missing field 'approval_id'"),
        (#"{"type":"approval_response","approval_id":"apr_1"}"#, "missing field 'decision'"),
        (#"{"type":"approval_response","approval_id":"apr_1","decision":"maybe"}"#, "field 'decision' must be"),
        (#"{"type":"approval_response","approval_id":7,"decision":"approve"}"#, "field 'approval_id' must be a string"),
        (#"{"type":"approval_response","approval_id":"apr_1","decision":"approve","arguments":[1]}"#, "field 'arguments' must be a JSON object"),
        (#"{"type":"approval_response","approval_id":"apr_1","decision":"deny","arguments":{}}"#, "field 'arguments' goes only with"),
        (#"{"type":"approval_response","approval_id":"apr_1","decision":"approve","reason":5}"#, "field 'reason' must be a string"),
    ])
    func refusesAMalformedResponseNamingTheField(text: String, message: String) {
        guard case .failure(let error) = decode(text) else {
            Issue.record("decoded \(text)")
            return
        }
        #expect(error.code == .badRequest)
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func roundTripsThroughItsOwnEncoding() throws {
        let message = ClientMessage.approvalResponse(.init(approvalID: "apr_9", decision: .approve, arguments: ["n": 3], reason: "fine"))
        #expect(try decode(message.encoded()).get() == message)
    }

    @Test func approvalEventsRoundTrip() throws {
        let requested = AgentEvent(
            threadID: "t",
            runID: "r",
            agentName: "assistant",
            payload: .approvalRequested(
                .init(approvalID: "apr_1", toolCallID: "c1", toolName: "save_note", arguments: ["text": "x"], expiresAt: "2026-12-07T00:10:00.000Z")
            )
        )
        let resolved = AgentEvent(
            threadID: "t",
            runID: "r",
            agentName: "assistant",
            payload: .approvalResolved(.init(approvalID: "apr_1", toolCallID: "c1", decision: .expired, arguments: ["text": "x"]))
        )
        for event in [requested, resolved] {
            #expect(try AgentEvent.decode(event.encodedJSON()) == event)
        }
        #expect(resolved.encodedJSON().contains(#""decision":"expired""#))
    }
}
