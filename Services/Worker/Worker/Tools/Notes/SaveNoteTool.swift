import HeraldProtocol

/// Saves a note for the user. It acts on the user's behalf, so every call waits for the user's approval.
public struct SaveNoteTool: Tool {
    public let name = "save_note"
    public let description = "Saves a short note for the user, to read back later with list_notes. The user approves each note first."
    public let parameters: JSONValue = [
        "type": "object",
        "properties": ["text": ["type": "string", "description": "The note, as the user wants it kept"]],
        "required": ["text"],
        "additionalProperties": false,
    ]
    public let requiresApproval = true
    let store: NoteStore

    public init(store: NoteStore) {
        self.store = store
    }

    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let text = arguments["text"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw ToolError("argument 'text' is required and must not be empty")
        }
        guard text.count <= NoteStore.maximumCharacters else {
            throw ToolError("a note holds at most \(NoteStore.maximumCharacters) characters, not \(text.count)")
        }
        // A call id is unique within its run only (the offline model numbers them from 1 in each).
        let savedAt = try await store.save(text, for: context.userID, callID: "\(context.runID)/\(context.toolCallID)")
        return ["saved": true, "text": .string(text), "saved_at": .string(savedAt)]
    }
}
