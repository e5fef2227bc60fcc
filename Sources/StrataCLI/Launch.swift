import ArgumentParser
import Foundation
import Strata

/// The group this process trains in when an MPI launcher started several (nil when it started one, or none).
/// Built without MPI, that is refused (exit 1) rather than training one copy per process.
func joinLaunchedGroup() throws -> ProcessGroup? {
    let environment = ProcessInfo.processInfo.environment
    guard let launch = ParallelLaunch(environment: environment) else { return nil }
    #if MPI
        let group: ProcessGroup
        let timeout = try exchangeTimeout(environment)
        do { group = try MPIProcessGroup(timeout: timeout) } catch let error as ProcessGroupError {
            printError(error.description)
            throw ExitCode(ExitStatus.specOrDataError)
        }
        if group.rank != 0 { errorPrefix = "[rank \(group.rank)] " }
        // A launcher of another MPI (MPICH's beside Open MPI's library) starts N processes that each see a group
        // of one: each would train its own copy and write the same checkpoint.
        if group.size != launch.processes {
            printError("error: \(launch.mismatch(groupSize: group.size))")
            group.abort(code: ExitStatus.specOrDataError)
        }
        return group
    #else
        printError("error: \(launch.refusal)")
        throw ExitCode(ExitStatus.specOrDataError)
    #endif
}

/// Thrown by a process of a group for an error every process reached, after rank 0 alone said why: they stop
/// together with `code`.
struct CollectiveExit: Error {
    var code: Int32
}

/// Reports a group's error: once, by rank 0, when every process reached it; by each that did otherwise.
func groupFailure(_ error: ProcessGroupError, group: ProcessGroup?) -> Error {
    guard let group, error.everyProcess else {
        printError(error.description)
        return ExitCode(ExitStatus.specOrDataError)
    }
    if group.rank == 0 { printError(error.description) }
    return CollectiveExit(code: ExitStatus.specOrDataError)
}

/// How long one exchange between the processes may wait before this process gives up on the others:
/// STRATA_MPI_TIMEOUT seconds, 600 by default (long enough for a slow rank to load its data or rank 0 to write a
/// large checkpoint while the others wait).
func exchangeTimeout(_ environment: [String: String]) throws -> Double {
    guard let text = environment["STRATA_MPI_TIMEOUT"] else { return 600 }
    guard let seconds = Double(text), seconds >= 1, seconds.isFinite else {
        throw ValidationError("STRATA_MPI_TIMEOUT is '\(text)'; give a number of seconds, at least 1")
    }
    return seconds
}

/// Runs `body` as one process of `group`: a run every process ends the same way (finished, interrupted,
/// diverged) leaves the group together; any other failure is this process's alone and ends the whole group, so
/// no process waits for it forever.
func runInGroup(_ group: ProcessGroup?, _ body: () throws -> Void) throws {
    guard let group else { return try body() }
    do {
        try body()
        group.finish()
    } catch let exit as CollectiveExit {
        group.finish()
        throw ExitCode(exit.code)
    } catch let exit as ExitCode {
        if exit.rawValue == ExitStatus.interrupted || exit.rawValue == ExitStatus.diverged {
            group.finish()
            throw exit
        }
        group.abort(code: exit.rawValue)
    } catch {
        printError("error: \(error)")
        group.abort(code: ExitStatus.specOrDataError)
    }
}
