import Foundation

/// A process's memory as the kernel counts it (`/proc/<pid>/status`), in bytes.
public struct ProcessMemory: Sendable, Equatable, CustomStringConvertible {
    /// Resident set size now (`VmRSS`).
    public var resident: Int
    /// The highest resident set size the process ever had (`VmHWM`).
    public var peakResident: Int

    public var description: String {
        "RSS \(Self.mebibytes(resident)), peak \(Self.mebibytes(peakResident))"
    }

    /// `12.3 MiB`.
    public static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    /// Reads the process's status file; nil when the process is gone or the system has no `/proc` (not Linux).
    public static func of(pid: Int32) -> ProcessMemory? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var fields: [String: Int] = [:]
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") || line.hasPrefix("VmHWM:") {
            // `VmRSS:\t   12345 kB`: a tab, then spaces; the kernel always counts in kibibytes.
            let parts = line.split { $0 == " " || $0 == "\t" || $0 == ":" }
            guard parts.count >= 2, let kibibytes = Int(parts[1]) else { continue }
            fields[String(parts[0])] = kibibytes * 1024
        }
        guard let resident = fields["VmRSS"], let peak = fields["VmHWM"] else { return nil }
        return ProcessMemory(resident: resident, peakResident: peak)
    }
}

extension ServiceProcess {
    /// The process's memory now; nil once it has exited.
    public var memory: ProcessMemory? {
        isRunning ? ProcessMemory.of(pid: pid) : nil
    }
}
