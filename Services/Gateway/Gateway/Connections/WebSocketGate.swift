import HTTPTypes
import HeraldProtocol
import Logging
import NIOCore
import NIOHTTP1

/// Decides each WebSocket upgrade before it happens: only `/ws`, only from an allowed origin, only
/// with an acceptable token, never while shutting down. A refusal is answered with its HTTP status and JSON body.
struct WebSocketGate: Sendable {
    /// An upgrade let through: the response's extra headers, and whose connection it becomes.
    struct Admission: Sendable {
        var headers: HTTPHeaders
        var identity: ConnectionIdentity
    }

    let authenticator: TokenAuthenticator
    let connections: ConnectionServices
    let allowedOrigins: OriginAllowList

    /// The admission, or nil when the upgrade is refused (the refusal is then on its way to the client).
    func admit(_ request: HTTPRequest, channel: any Channel) async -> Admission? {
        guard PresentedCredentials.route(of: request.path) == "/ws" else { return nil }
        let credentials = PresentedCredentials(request: request)
        let identity: ConnectionIdentity
        do {
            // Checked first: a page of a foreign site gets nothing, not even a guest identity.
            if let origin = request.headerFields[.origin], !allowedOrigins.allows(origin) {
                connections.metrics.recordRefusal(.origin)
                throw UpgradeRefusal.forbidden("origin \(origin.prefix(200)) is not allowed to connect")
            }
            guard await !connections.registry.isDraining else {
                throw UpgradeRefusal.unavailable("gateway shutting down")
            }
            let client = ClientAddress.key(
                peer: channel.remoteAddress,
                forwardedFor: request.headerFields[values: .xForwardedFor],
                trustedProxies: connections.settings.trustedProxies
            )
            identity = try await authenticator.authenticate(token: credentials.token, clientAddress: client)
        } catch {
            let refusal = (error as? UpgradeRefusal) ?? .unavailable("cannot accept connections now")
            if refusal.status == .tooManyRequests { connections.metrics.recordRefusal(.newGuests) }
            await refuse(refusal, on: channel)
            return nil
        }
        var headers = HTTPHeaders()
        if credentials.offersHeraldProtocol {
            headers.add(name: "Sec-WebSocket-Protocol", value: HeraldProtocolVersion.subprotocol)
        }
        return Admission(headers: headers, identity: identity)
    }

    private func refuse(_ refusal: UpgradeRefusal, on channel: any Channel) async {
        connections.metrics.upgradesRefused.increment()
        connections.logger.info("websocket upgrade refused", metadata: ["status": "\(refusal.status.code)", "reason": "\(refusal.message)"])
        do {
            try await channel.pipeline.addHandler(UpgradeRefusalHandler(refusal: refusal)).get()
        } catch {
            // The connection is already gone; nobody is left to answer.
            connections.logger.debug("cannot answer a refused upgrade", metadata: ["error": "\(error)"])
        }
    }
}
