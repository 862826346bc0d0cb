import Crypto
import Foundation

/// Herald ids for the thread and run ids a standard's client chooses.
///
/// Herald's ids go into Redis keys, so they are letters, digits, `_` and `-`, at most 64. A client id of that shape
/// is used as it is; any other (1–128 printable ASCII characters) becomes `prefix-` and 40 hex digits of its
/// SHA-256, the same on every gateway and every time, so a client that comes back with its id finds its thread.
enum StandardIDs {
    /// Whether `id` is an id a standard's client may choose: 1–128 printable ASCII characters.
    static func isAcceptable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }

    /// The Herald thread of a thread id a client put in a path; 400 when it is not an acceptable id.
    static func heraldThread(for clientID: String, prefix: String, named name: String) throws(StandardStreams.Refusal) -> String {
        guard isAcceptable(clientID) else {
            throw StandardStreams.Refusal(status: .badRequest, .badRequest, "the \(name) must be 1 to 128 printable ASCII characters")
        }
        return herald(for: clientID, prefix: prefix)
    }

    static func herald(for clientID: String, prefix: String) -> String {
        if ConnectionSession.isValidID(clientID) { return clientID }
        let digest = SHA256.hash(data: Array(clientID.utf8))
        let hex = digest.map { byte in String(byte, radix: 16).leftPadded(to: 2) }.joined()
        return "\(prefix)-\(hex.prefix(40))"
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
