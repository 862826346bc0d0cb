import NIOCore

extension RedisConnection {
    /// Runs tasks on this connection's event loop.
    ///
    /// A task that prefers it (`withTaskExecutorPreference(connection.taskExecutor) { … }`) sends and resumes on the
    /// thread that owns the socket, so a round trip is one hand-off between that thread and Redis instead of a hop
    /// to the loop and another back to the global executor. Code in such a task runs on the event loop: it must
    /// never block.
    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *)
    public var taskExecutor: any TaskExecutor {
        RedisEventLoopTaskExecutor(eventLoop: eventLoop)
    }
}

/// A `TaskExecutor` that runs jobs on one NIO event loop.
@available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *)
final class RedisEventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
