import HTTPTypes
import Testing

@testable import Gateway

/// Which requests are standard streams, told from the request line alone, as the connection's pipeline and the
/// router both tell them.
@Suite struct StandardStreamRouteTests {
    @Test func theFourEndpointsAreRecognisedByMethodAndPath() {
        #expect(StandardStreamRoute(method: .post, target: "/agui") == .aguiRun)
        #expect(StandardStreamRoute(method: .post, target: "/agui/") == .aguiRun)
        #expect(StandardStreamRoute(method: .get, target: "/agui/t1") == .aguiReattach(threadID: "t1", runID: nil))
        #expect(StandardStreamRoute(method: .get, target: "/agui/t1?runId=r1") == .aguiReattach(threadID: "t1", runID: "r1"))
        #expect(StandardStreamRoute(method: .post, target: "/api/chat") == .chatRun)
        #expect(StandardStreamRoute(method: .get, target: "/api/chat/c1/stream") == .chatResume(chatID: "c1"))
    }

    @Test func idsArePercentDecodedAndOneThatDoesNotDecodeIsEmpty() {
        #expect(
            StandardStreamRoute(method: .get, target: "/agui/support%20ticket?x=1&runId=run%2F2")
                == .aguiReattach(threadID: "support ticket", runID: "run/2")
        )
        #expect(StandardStreamRoute(method: .get, target: "/api/chat/%ZZ/stream") == .chatResume(chatID: ""))
    }

    @Test func otherMethodsAndPathsAreNotStreams() {
        #expect(StandardStreamRoute(method: .get, target: "/agui") == nil)
        #expect(StandardStreamRoute(method: .post, target: "/agui/t1") == nil)
        #expect(StandardStreamRoute(method: .get, target: "/api/chat") == nil)
        #expect(StandardStreamRoute(method: .post, target: "/api/chat/c1/stream") == nil)
        #expect(StandardStreamRoute(method: .get, target: "/api/chat/c1") == nil)
        #expect(StandardStreamRoute(method: .get, target: "/ws") == nil)
        #expect(StandardStreamRoute(method: .get, target: "/") == nil)
        #expect(StandardStreamRoute(method: .get, target: "/aguix/t1") == nil)
        #expect(StandardStreamRoute(method: .get, target: "/agui/t1/extra") == nil)
    }

    @Test func eachStandardHasItsEndpointLabel() {
        #expect(StandardStreamRoute.aguiRun.endpoint == "agui")
        #expect(StandardStreamRoute.aguiReattach(threadID: "t", runID: nil).endpoint == "agui")
        #expect(StandardStreamRoute.chatRun.endpoint == "ai_sdk")
        #expect(StandardStreamRoute.chatResume(chatID: "c").endpoint == "ai_sdk")
    }
}
