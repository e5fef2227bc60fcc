import StrataEngine

/// How many processes an MPI launcher started together with this one, read from the variables launchers set:
/// Open MPI's `mpirun` (OMPI_COMM_WORLD_SIZE), MPICH's and Intel MPI's Hydra (PMI_SIZE), Slurm's `srun`
/// (SLURM_STEP_NUM_TASKS). Built with MPI (`--traits MPI`), `strata train` then trains one model with all of them;
/// built without, each process would train its own copy of the model and write the same checkpoint, so it refuses,
/// as `strata sweep` always does.
public struct ParallelLaunch: Sendable, Equatable {
    public var processes: Int
    /// The variable that said so, for the message.
    public var variable: String

    public static let variables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]

    /// The launch, when a launcher started more than one process.
    public init?(environment: [String: String]) {
        for variable in Self.variables {
            if let text = environment[variable], let count = Int(text), count > 1 {
                processes = count
                self.variable = variable
                return
            }
        }
        return nil
    }

    /// How many of the processes run on this machine, when the launcher says (Open MPI, MPICH): they share its
    /// cores.
    public static func localProcesses(environment: [String: String]) -> Int? {
        for variable in ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"] {
            if let text = environment[variable], let count = Int(text), count > 0 { return count }
        }
        return nil
    }

    /// Threads per process by default: the machine's cores shared by the launcher's processes on it.
    public static func threadsPerProcess(environment: [String: String]) -> Int {
        max(1, CPU.coreCount / (localProcesses(environment: environment) ?? 1))
    }

    /// Why `strata sweep` does not run under a launcher: its trials are separate trainings of one process each.
    public var sweepRefusal: String {
        "strata sweep runs as one of \(processes) processes started together (\(variable)=\(processes)), but a sweep trains its trials one after another in one process: each process would run the whole sweep. Run it once, without mpirun or srun."
    }

    /// Why a group of another size than the launcher's is refused.
    public func mismatch(groupSize: Int) -> String {
        "the launcher started \(processes) processes (\(variable)=\(processes)), but MPI sees \(groupSize) in this one's group: strata was built against another MPI than the launcher's (run it with the mpirun of the MPI it was built with)"
    }

    public var refusal: String {
        "strata runs as one of \(processes) processes started together (\(variable)=\(processes)), but it was built without MPI and trains in one process: each would train its own copy of the model and write the same checkpoint. Run it once, without mpirun or srun; it uses every core of the machine by itself."
    }
}
