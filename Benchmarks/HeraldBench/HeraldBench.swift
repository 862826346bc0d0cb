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
            load     the whole path, through the browser protocol: end-to-end latency
            path     worker boundary to screen, Herald beside nginx + nchan, same load
            sse-load the same over AG-UI streams (POST /agui), to compare with load
            relay    the relay alone: events/s sequenced, stored and published
            fanout   the gateway's fan-out alone: frames/s to many watchers of a thread
            idle     the gateway's resident memory per idle connection (or SSE stream)
            ceiling  redis-benchmark's pipelined PUBLISH and XADD on the same Redis
            stream   long answers at a model's pace, per HERALD_STREAM_COALESCE_MS value:
                     events, bytes, TTFT, CPU (its own model server and deployments)
            report   one table of every figure in a --results file

            scripts/bench.sh builds, starts a private deployment, runs them all but stream.
            """,
        subcommands: [
            LoadCommand.self, PathCommand.self, SSELoadCommand.self, RelayCommand.self, FanoutCommand.self, IdleCommand.self, CeilingCommand.self,
            StreamCommand.self,
            ReportCommand.self,
        ]
    )
}
