/// One searchable piece of the bundled docs: a paragraph or a few, under their heading.
public struct DocPassage: Sendable, Equatable {
    /// Path of the markdown file, relative to the docs folder.
    public var file: String
    /// The headings above the passage, outermost first, joined with " › ".
    public var heading: String
    public var text: String

    public init(file: String, heading: String, text: String) {
        self.file = file
        self.heading = heading
        self.text = text
    }
}
