/// How labels are read and turned into the targets the loss sees, resolved from the spec, the data and the loss.
public struct LabelEncoding: Sendable, Codable, Equatable {
    public var format: LabelFormat
    public var oneHot: Bool
    /// Class names in index order, for `names` labels or when the spec gives `class_names`.
    public var classNames: [String]?
    /// For classification losses.
    public var classCount: Int?
    /// The width of one target row the loss compares with the model's output.
    public var targetWidth: Int

    public init(format: LabelFormat, oneHot: Bool, classNames: [String]?, classCount: Int?, targetWidth: Int) {
        self.format = format
        self.oneHot = oneHot
        self.classNames = classNames
        self.classCount = classCount
        self.targetWidth = targetWidth
    }
}

/// What the checker learned about the data.
public struct DataFacts: Sendable {
    public var train: SourceProbe
    public var encoding: LabelEncoding
    /// Training examples per class, for classification.
    public var classCounts: [Int]?
    /// Every source read in full and encoded, so training uses exactly what was checked (nil when the checker
    /// did not read the data).
    public var datasets: LoadedSources?
}

extension DataFacts {
    /// Examples in the largest source (a batch never needs to be larger), when the data was read.
    public var largestSource: Int? {
        datasets.map { max($0.train.count, $0.validation?.count ?? 0, $0.test?.count ?? 0) }
    }

    /// Floats of features and targets training holds: each source as read and again as split.
    public var heldFloats: Int {
        guard let d = datasets else { return 0 }
        let floats = [d.train, d.validation, d.test].compactMap { $0 }.map { $0.features.count + $0.targets.count }
        return 2 * floats.reduce(0, +)
    }
}

/// The spec's sources as read: training data before any split, and the separate validation and test sources.
public struct LoadedSources: Sendable {
    public var train: Dataset
    public var validation: Dataset?
    public var test: Dataset?
}
