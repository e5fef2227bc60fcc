/// How many examples of each class a held-out fraction takes: round(count · fraction) per class, so every
/// class keeps its share. The same rule serves the checker's warnings and the trainer's split.
public enum StratifiedSplit {
    public static func heldOutCounts(classCounts: [Int], fraction: Double) -> [Int] {
        classCounts.map { Int((Double($0) * fraction).rounded()) }
    }
}
