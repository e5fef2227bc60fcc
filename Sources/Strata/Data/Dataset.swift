/// Examples ready for the network: features [count, featureCount] and targets [count, targetWidth], both
/// Float32 and row-major, after label encoding (class indices for sparse losses, one-hot rows for categorical).
public struct Dataset: Sendable {
    public var featureCount: Int
    public var targetWidth: Int
    public var features: [Float]
    public var targets: [Float]
    /// The feature columns' names, when they came from a CSV header.
    public var featureNames: [String]?

    public init(featureCount: Int, targetWidth: Int, features: [Float], targets: [Float]) {
        self.featureCount = featureCount
        self.targetWidth = targetWidth
        self.features = features
        self.targets = targets
    }

    public var count: Int { featureCount == 0 ? 0 : features.count / featureCount }

    public func subset(_ indices: [Int]) -> Dataset {
        var features: [Float] = []
        var targets: [Float] = []
        features.reserveCapacity(indices.count * featureCount)
        targets.reserveCapacity(indices.count * targetWidth)
        for i in indices {
            features += self.features[i * featureCount..<(i + 1) * featureCount]
            targets += self.targets[i * targetWidth..<(i + 1) * targetWidth]
        }
        var subset = Dataset(featureCount: featureCount, targetWidth: targetWidth, features: features, targets: targets)
        subset.featureNames = featureNames
        return subset
    }

    /// The class of each example, for stratified splits: the index, the one-hot argmax, or for one binary target
    /// whether it is ≥ 0.5. nil for regression.
    public func classIndices(classCount: Int?) -> [Int]? {
        guard let classCount else { return nil }
        return (0..<count).map { i in
            let row = targets[i * targetWidth..<(i + 1) * targetWidth]
            // One target: a binary probability (thresholded, whatever its value) or a validated class index.
            if targetWidth == 1 { return classCount == 2 ? (row.first! >= 0.5 ? 1 : 0) : Int(row.first!) }
            return row.indices.max { row[$0] < row[$1] }! - i * targetWidth
        }
    }
}

/// Scale, then standardize with statistics of the training split; stored in the checkpoint so evaluation and
/// prediction transform inputs exactly as training did.
public struct Preprocessing: Sendable, Codable, Equatable {
    public var scale: Float?
    public var mean: [Float]?
    public var standardDeviation: [Float]?

    public init(scale: Float? = nil, mean: [Float]? = nil, standardDeviation: [Float]? = nil) {
        self.scale = scale
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Statistics from `training` (already scaled): per-feature mean and population standard deviation, in
    /// Double; a constant feature gets deviation 1 so it maps to 0 rather than NaN.
    public static func fit(scale: Float?, standardize: Bool, training: Dataset) -> Preprocessing {
        var result = Preprocessing(scale: scale)
        guard standardize, training.count > 0 else { return result }
        let f = training.featureCount
        var sum = [Double](repeating: 0, count: f), squares = [Double](repeating: 0, count: f)
        for i in 0..<training.count {
            for j in 0..<f {
                let v = Double(training.features[i * f + j]) * Double(scale ?? 1)
                sum[j] += v
                squares[j] += v * v
            }
        }
        let n = Double(training.count)
        let mean = sum.map { $0 / n }
        let deviation = (0..<f).map { j -> Float in
            let variance = max(squares[j] / n - mean[j] * mean[j], 0)
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        result.mean = mean.map(Float.init)
        result.standardDeviation = deviation
        return result
    }

    public func apply(to features: inout [Float], featureCount: Int) {
        if let scale { for i in features.indices { features[i] *= scale } }
        if let mean, let standardDeviation {
            for i in features.indices {
                let j = i % featureCount
                features[i] = (features[i] - mean[j]) / standardDeviation[j]
            }
        }
    }
}
