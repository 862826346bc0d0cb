import ArgumentParser
import Foundation

/// A process whose CPU time is reported beside a stage's figures: `name=pid`, e.g. `gateway=1234`.
struct WatchedProcess: Sendable, ExpressibleByArgument {
    var name: String
    var pid: Int32

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let pid = Int32(parts[1]), pid > 0 else { return nil }
        name = String(parts[0])
        self.pid = pid
    }

    init(name: String, pid: Int32) {
        self.name = name
        self.pid = pid
    }

    static let current = WatchedProcess(name: "herald-bench (this client)", pid: getpid())
}

/// CPU seconds (user + system) of processes, read from /proc/PID/stat, to see which one a stage saturates.
struct CPUSnapshot: Sendable {
    /// What the machine's other processes used: every core's busy time less the watched processes'.
    static let othersName = "other processes on this machine"

    var wall: Double
    var seconds: [String: Double]
    /// Busy time of all cores together (/proc/stat), nil where unreadable.
    var machine: Double?

    static func take(_ processes: [WatchedProcess]) -> CPUSnapshot {
        var seconds: [String: Double] = [:]
        for process in processes {
            if let value = cpuSeconds(process.pid) { seconds[process.name] = value }
        }
        return CPUSnapshot(wall: WallClock.now(), seconds: seconds, machine: machineBusySeconds())
    }

    /// Each process's share of one core between `earlier` and this snapshot (2.0 = two cores busy), and last
    /// what every other process on the machine used meanwhile (a neighbour's load skews every figure).
    func usage(since earlier: CPUSnapshot, order: [WatchedProcess]) -> [(name: String, cores: Double)] {
        let wall = max(wall - earlier.wall, 1e-9)
        var usage: [(name: String, cores: Double)] = order.compactMap { process in
            guard let now = seconds[process.name], let then = earlier.seconds[process.name] else { return nil }
            return (process.name, (now - then) / wall)
        }
        if let now = machine, let then = earlier.machine {
            let watched = usage.reduce(0) { $0 + $1.cores }
            usage.append((Self.othersName, max(0, (now - then) / wall - watched)))
        }
        return usage
    }

    /// user + nice + system + irq + softirq + steal of the `cpu` line of /proc/stat, in seconds.
    static func machineBusySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cpu ") })
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// utime + stime of a process (fields 14 and 15 of /proc/PID/stat, in clock ticks).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After the command name in parentheses: state is field 3, so utime (14) is the 12th after it.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) / ticks
    }
}

enum CPUReport {
    static func print(_ usage: [(name: String, cores: Double)]) {
        guard !usage.isEmpty else { return }
        let total = usage.reduce(0) { $0 + $1.cores }
        let parts = usage.map { "\($0.name) \(Format.percent($0.cores))" }
        Swift.print(
            "  CPU (share of one core; this machine has \(ProcessInfo.processInfo.activeProcessorCount)): " + parts.joined(separator: ", ")
                + "; total \(Format.percent(total))"
        )
    }

    static func record(_ usage: [(name: String, cores: Double)], into sink: inout ResultSink, stage: String, prefix: String) {
        for (name, cores) in usage {
            let key = name == CPUSnapshot.othersName ? "others" : String(name.split(separator: " ").first ?? "")
            sink.add(
                stage,
                "\(prefix).cpu.\(key)",
                "CPU \(name) (% of one core)",
                cores,
                .ratio,
                note: name == CPUSnapshot.othersName && cores > 0.1
                    ? "other work used \(Format.percent(cores)) of a core meanwhile: figures of this stage are skewed" : nil
            )
        }
        let total = usage.reduce(0) { $0 + $1.cores }
        if !usage.isEmpty {
            sink.add(
                stage,
                "\(prefix).cpu.total",
                "CPU of the whole machine (\(ProcessInfo.processInfo.activeProcessorCount) cores = \(ProcessInfo.processInfo.activeProcessorCount * 100)%)",
                total,
                .ratio
            )
        }
    }
}
