import Foundation

/// One streamed piece of a tool call (`choices[0].delta.tool_calls[i]`): any field may be missing.
public struct ToolCallDelta: Sendable, Equatable {
    public var index: Int?
    public var id: String?
    public var name: String?
    public var arguments: String?

    public init(index: Int? = nil, id: String? = nil, name: String? = nil, arguments: String? = nil) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// The stream's tool calls did not add up to something callable.
public struct ToolCallAssemblyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// Puts streamed tool calls together by their `index`: ids, names and argument fragments may be
/// split anywhere, and several calls may stream in one turn, interleaved or one after the other.
///
/// Servers differ in what they repeat: OpenAI sends the id and name once, some servers send them
/// again with every fragment. A fragment equal to what was already assembled is therefore taken as
/// a repeat, anything else is appended. A delta without an index continues the call with its id,
/// or the latest call when it has none (servers that omit indexes send one call at a time); a
/// delta bringing both a new id and a name to an index already named starts another call.
public struct ToolCallAssembler: Sendable {
    private struct Partial: Sendable {
        var index: Int
        var id = ""
        var name = ""
        var arguments = ""
    }

    /// The most argument text one call may hold, in UTF-8 bytes.
    public let maximumArgumentBytes: Int
    private var partials: [Partial] = []

    public init(maximumArgumentBytes: Int = 1 << 20) {
        self.maximumArgumentBytes = maximumArgumentBytes
    }

    public var isEmpty: Bool { partials.isEmpty }

    public mutating func add(_ delta: ToolCallDelta) throws {
        let position = position(for: delta)
        var partial = partials[position]
        if let id = delta.id, !id.isEmpty, id != partial.id {
            partial.id += id
        }
        if let name = delta.name, !name.isEmpty, name != partial.name {
            partial.name += name
        }
        if let arguments = delta.arguments {
            partial.arguments += arguments
            guard partial.arguments.utf8.count <= maximumArgumentBytes else {
                throw ToolCallAssemblyError(description: "the arguments of tool call \(partial.index) are longer than \(maximumArgumentBytes) bytes")
            }
        }
        partials[position] = partial
    }

    /// The assembled calls in index order, and a fresh start. A call without a name cannot be run;
    /// one without an id gets one, since the id ties the tool's result to its call.
    public mutating func complete() throws -> [ModelToolCall] {
        defer { partials.removeAll() }
        // A stable sort: calls sharing an index keep the order they arrived in.
        let ordered = partials.enumerated().sorted { ($0.element.index, $0.offset) < ($1.element.index, $1.offset) }.map(\.element)
        return try ordered.map { partial in
            let name = partial.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                throw ToolCallAssemblyError(description: "tool call \(partial.index) has no function name")
            }
            let id = partial.id.isEmpty ? "call_\(partial.index)_\(UUID().uuidString.prefix(8).lowercased())" : partial.id
            let arguments = partial.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
            return ModelToolCall(id: id, name: name, arguments: arguments.isEmpty ? "{}" : partial.arguments)
        }
    }

    private mutating func position(for delta: ToolCallDelta) -> Int {
        let index: Int
        if let explicit = delta.index {
            index = explicit
        } else if let id = delta.id, !id.isEmpty {
            if let known = partials.lastIndex(where: { $0.id == id }) { return known }
            index = (partials.map(\.index).max() ?? -1) + 1
        } else if let last = partials.indices.last {
            return last
        } else {
            index = 0
        }
        if let known = partials.lastIndex(where: { $0.index == index }) {
            // A new id with a name at an index already named is another call: some servers number
            // every parallel call 0. It keeps the index, and later fragments go to the latest call.
            let existing = partials[known]
            guard let id = delta.id, !id.isEmpty, id != existing.id, let name = delta.name, !name.isEmpty, !existing.name.isEmpty else {
                return known
            }
        }
        partials.append(Partial(index: index))
        return partials.count - 1
    }
}
