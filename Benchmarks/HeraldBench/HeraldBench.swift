import ArgumentParser

/// `herald-bench`: load and stage benchmarks for a Herald deployment (see Benchmarks/README.md).
///
/// Each subcommand prints its own summary; with `--results FILE` it also appends its figures as JSON
/// lines, and `report` turns such a file into one table with targets and ratios to redis-benchmark.
@main
struct HeraldBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-bench",
        abstract: "Load and stage benchmarks for a Herald deployment.",
        discussion: """
            load     end-to-end: many browser sessions send runs to a running deployment over the WebSocket protocol
            relay    the relay alone: events fed straight into the partition streams, sequenced and published
            fanout   the gateway's fan-out alone: frames published on one thread watched by many connections
            idle     resident memory of the gateway per idle WebSocket connection
            ceiling  redis-benchmark's pipelined PUBLISH and XADD on the same Redis, the ceiling the stages are compared to
            report   one table of every figure in a --results file, with targets and ratios

            scripts/bench.sh builds everything, starts a private deployment and runs the whole suite.
            """,
        subcommands: [LoadCommand.self, RelayCommand.self, FanoutCommand.self, IdleCommand.self, CeilingCommand.self, ReportCommand.self]
    )
}
