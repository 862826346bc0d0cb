// libFuzzer entry for the decoder the gateway runs on every text frame a browser sends
// (`ClientMessage.decode`, over `JSONValue` and its field reader). The HeraldProtocol sources are
// compiled into this module through the `HeraldProtocol` symlink, so the fuzzer exercises the real code.
//
// Beyond "no crash", every input checks what the gateway relies on:
// - an accepted frame survives its own encoding unchanged (nothing the gateway forwards is altered);
// - a refused frame gets one of the two documented codes and a message saying why;
// - any JSON the parser accepts prints back to text that parses to the same value.

/// Stops the fuzzer with `message` when a property fails (`precondition` drops its message in optimized builds).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func clientMessageFuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    do {
        let message = try ClientMessage.decode(bytes)
        let again: ClientMessage
        do {
            again = try ClientMessage.decode(Array(message.encoded().utf8))
        } catch {
            fatalError("an accepted frame does not decode from its own encoding: \(error)")
        }
        check(again == message, "round trip changed \(message) into \(again)")
    } catch {
        check(error.code == .badRequest || error.code == .unknownType, "undocumented code \(error.code) for a malformed frame")
        check(!error.message.isEmpty, "an error without a message")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let value = try? JSONValue.parse(text) {
        let printed = value.jsonString()
        guard let reparsed = try? JSONValue.parse(printed) else {
            fatalError("printed JSON does not parse: \(printed.prefix(200))")
        }
        check(reparsed == value, "JSON round trip changed the value")
    }
    return 0
}
