import Foundation

/// Finds the bundled docs folder when `HERALD_DOCS_DIR` is not set.
public enum DocsLocator {
    /// `docs` in the current directory, else the first `docs` folder found walking up from the
    /// executable's directory: `.build/debug/herald-worker` finds the repository's docs, and
    /// `/app/bin/herald-worker` finds `/app/docs`. Only a folder holding markdown counts.
    public static func locate(currentDirectory: URL, executable: URL?) -> URL? {
        var candidates = [currentDirectory.appendingPathComponent("docs", isDirectory: true)]
        if let executable {
            var directory = executable.resolvingSymlinksInPath().deletingLastPathComponent().standardizedFileURL
            while true {
                candidates.append(directory.appendingPathComponent("docs", isDirectory: true))
                let parent = directory.deletingLastPathComponent().standardizedFileURL
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return candidates.first(where: containsMarkdown)
    }

    /// Whether `directory` exists and holds at least one `.md` file (at any depth).
    public static func containsMarkdown(_ directory: URL) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue,
            let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        else { return false }
        for case let url as URL in enumerator where url.pathExtension.lowercased() == "md" {
            return true
        }
        return false
    }
}
