/// How many processes an MPI launcher started together with this one, read from the variables launchers set:
/// Open MPI's `mpirun` (OMPI_COMM_WORLD_SIZE), MPICH's and Intel MPI's Hydra (PMI_SIZE), Slurm's `srun`
/// (SLURM_STEP_NUM_TASKS). This build of Strata has no MPI and trains in one process; run N times by a launcher,
/// each process would train its own copy of the model and write the same checkpoint, so `strata train` and
/// `strata sweep` refuse instead.
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

    public var refusal: String {
        "strata runs as one of \(processes) processes started together (\(variable)=\(processes)), but it was built without MPI and trains in one process: each would train its own copy of the model and write the same checkpoint. Run it once, without mpirun or srun; it uses every core of the machine by itself."
    }
}
