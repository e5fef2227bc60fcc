import StrataEngine

/// The training, validation and test sets of a checked spec, split and preprocessed.
public struct TrainingData: Sendable {
    public var train: Dataset
    public var validation: Dataset?
    public var test: Dataset?
    public var preprocessing: Preprocessing
    public var encoding: LabelEncoding

    /// Loads every source, holds out test then validation examples (seeded, stratified), and fits
    /// preprocessing on what remains for training.
    public static func prepare(_ checked: CheckedSpec) throws -> TrainingData {
        let spec = checked.spec
        guard let data = spec.data, let facts = checked.data else {
            throw DataError(path: spec.file, "the spec has no data section")
        }
        let loader = DatasetLoader(
            encoding: facts.encoding, loss: spec.loss.value, specFile: spec.file,
            featureCount: spec.input.value.reduce(1, *))
        var full = try loader.load(data.train.value)
        var random = SplitMix64.stream(seed: spec.seed, purpose: RandomPurpose.split)
        var test: Dataset?
        if let source = data.test {
            test = try loader.load(source.value)
        } else if data.testSplit > 0 {
            let (kept, held) = DataSplits.split(
                classes: full.classIndices(classCount: facts.encoding.classCount), count: full.count, fraction: data.testSplit,
                random: &random)
            test = full.subset(held)
            full = full.subset(kept)
        }
        var validation: Dataset?
        if let source = data.validation {
            validation = try loader.load(source.value)
        } else if spec.training.validationSplit.value > 0 {
            let (kept, held) = DataSplits.split(
                classes: full.classIndices(classCount: facts.encoding.classCount), count: full.count,
                fraction: spec.training.validationSplit.value, random: &random)
            validation = full.subset(held)
            full = full.subset(kept)
        }
        let preprocessing = Preprocessing.fit(
            scale: data.scale.map { Float($0.value) }, standardize: data.standardize, training: full)
        for index in 0..<3 {
            switch index {
            case 0: preprocessing.apply(to: &full.features, featureCount: full.featureCount)
            case 1: if validation != nil { preprocessing.apply(to: &validation!.features, featureCount: full.featureCount) }
            default: if test != nil { preprocessing.apply(to: &test!.features, featureCount: full.featureCount) }
            }
        }
        return TrainingData(train: full, validation: validation, test: test, preprocessing: preprocessing, encoding: facts.encoding)
    }
}
