import Foundation
import HeraldProtocol
import Logging
import NIOCore
import Synchronization

/// nginx with the nchan module, the peer Herald is held against (Benchmarks/nchan/nginx.conf): each session a
/// WebSocket subscriber on a channel of its own at `/sub?id=…`, events published with an HTTP `POST` to
/// `/pub?id=…`, the way nchan's producers publish. nchan stores every message in its own Redis
/// (`nchan_redis_pass`, a buffer of 1,000 messages per channel) and delivers from there.
///
/// The body of each event is the same JSON Herald's frames carry (an `AgentEvent`, the stamp in its text), so
/// both systems move the same bytes.
final class NchanPathSystem: PathSystem {
    let name = "nginx + nchan"
    private let host: String
    private let port: Int
    private let publishers: Int
    private let logger: Logger
    private let opened = Mutex<Opened?>(nil)

    private struct Opened {
        var receivers: [PathReceiver]
        var sockets: [PlainWebSocket]
        var channels: [String]
        var templates: [StampedEventTemplate]
        var clients: [PipelinedHTTPClient]
    }

    init(host: String, port: Int, publishers: Int, logger: Logger) {
        self.host = host
        self.port = port
        self.publishers = publishers
        self.logger = logger
    }

    var receivers: [PathReceiver] { opened.withLock { $0?.receivers ?? [] } }
    let stageReceivers: [(stage: String, receiver: PathReceiver)] = []

    func open(sessions: Int) async throws {
        let receivers = (0..<sessions).map { _ in PathReceiver(checksSeq: false) }
        let round = UUID().uuidString.lowercased().prefix(8)
        let channels = (0..<sessions).map { "path-\(round)-\($0)" }
        let (host, port, logger) = (host, port, logger)
        let sockets: [PlainWebSocket?] = await boundedConcurrentMap(sessions, width: 64) { index in
            let receiver = receivers[index]
            do {
                return try await PlainWebSocket.connect(url: "ws://\(host):\(port)/sub?id=\(channels[index])", logger: logger) {
                    data,
                    receivedAt in
                    receiver.received(data, at: receivedAt)
                }
            } catch {
                receiver.fail("connect failed: \(error)")
                return nil
            }
        }
        var clients: [PipelinedHTTPClient] = []
        for _ in 0..<publishers {
            clients.append(try await PipelinedHTTPClient.connect(host: host, port: port))
        }
        let connected = sockets.compactMap { $0 }
        let templates = channels.map { StampedEventTemplate(threadID: $0, runID: "run-\($0)", agentName: "assistant") }
        opened.withLock { $0 = Opened(receivers: receivers, sockets: connected, channels: channels, templates: templates, clients: clients) }
        guard connected.count == sessions else {
            throw PathError("only \(connected.count) of \(sessions) nchan subscribers connected")
        }
    }

    func emit(to sessions: [Int]) async throws -> Double {
        let (channels, templates, clients) = opened.withLock { ($0?.channels ?? [], $0?.templates ?? [], $0?.clients ?? []) }
        let emittedAt = WallClock.now()
        let timestamp = HeraldTimestamp.now()
        let text = EmitStamp.text(emittedAt: emittedAt)
        // One pipelined batch per publisher connection; a channel always goes through the same one, in order.
        var batches = [[(path: String, body: ByteBuffer)]](repeating: [], count: clients.count)
        for session in sessions {
            let body = templates[session].json(eventID: EventID.make(), timestamp: timestamp, stamp: text)
            batches[session % clients.count].append(("/pub?id=\(channels[session])", ByteBuffer(string: body)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (client, batch) in zip(clients, batches) where !batch.isEmpty {
                group.addTask { try await client.post(batch) }
            }
            try await group.waitForAll()
        }
        return WallClock.now() - emittedAt
    }

    func close() async {
        let (sockets, clients) = opened.withLock { ($0?.sockets ?? [], $0?.clients ?? []) }
        for client in clients {
            await client.close()
        }
        await withTaskGroup(of: Void.self) { group in
            for socket in sockets {
                group.addTask { await socket.close() }
            }
        }
    }
}
