import HeraldProtocol

/// Reads back the user's saved notes.
public struct ListNotesTool: Tool {
    public let name = "list_notes"
    public let description = "Lists the notes the user saved with save_note, oldest first."
    public let parameters: JSONValue = ["type": "object", "properties": [:], "additionalProperties": false]
    let store: NoteStore

    public init(store: NoteStore) {
        self.store = store
    }

    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        ["notes": .array(try await store.notes(of: context.userID))]
    }
}
