import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's, plus the request's channel, which a streamed response (SSE) drops
/// when its reader is cut off.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
