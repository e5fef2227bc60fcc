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
    /// `preprocessing`, when given (from a checkpoint), is applied instead of being fitted again.
    /// `loaded`: the sources as the checker read them, used instead of reading the files again.
    public static func prepare(
        _ spec: Spec, encoding: LabelEncoding, preprocessing stored: Preprocessing? = nil, loaded: LoadedSources? = nil
    ) throws -> TrainingData {
        guard let data = spec.data else {
            throw DataError(path: spec.file, "the spec has no data section")
        }
        let loader = DatasetLoader(
            encoding: encoding, loss: spec.loss.value, specFile: spec.file,
            featureCount: spec.input.value.reduce(1, *))
        var full = try loaded?.train ?? loader.load(data.train.value)
        var random = SplitMix64.stream(seed: spec.seed, purpose: RandomPurpose.split)
        var test: Dataset?
        if let source = data.test {
            test = try loaded?.test ?? loader.load(source.value)
        } else if data.testSplit > 0 {
            let (kept, held) = DataSplits.split(
                classes: full.classIndices(classCount: encoding.classCount), count: full.count,
                fraction: data.testSplit,
                random: &random)
            test = full.subset(held)
            full = full.subset(kept)
        }
        var validation: Dataset?
        if let source = data.validation {
            validation = try loaded?.validation ?? loader.load(source.value)
        } else if spec.training.validationSplit.value > 0 {
            let (kept, held) = DataSplits.split(
                classes: full.classIndices(classCount: encoding.classCount), count: full.count,
                fraction: spec.training.validationSplit.value, random: &random)
            // Rounding can hold out nothing from a tiny set; then there is no validation data rather than an empty one.
            if !held.isEmpty {
                validation = full.subset(held)
                full = full.subset(kept)
            }
        }
        let preprocessing =
            stored
            ?? Preprocessing.fit(
                scale: data.scale.map { Float($0.value) }, standardize: data.standardize, training: full)
        for index in 0..<3 {
            switch index {
            case 0: preprocessing.apply(to: &full.features, featureCount: full.featureCount)
            case 1:
                if validation != nil { preprocessing.apply(to: &validation!.features, featureCount: full.featureCount) }
            default: if test != nil { preprocessing.apply(to: &test!.features, featureCount: full.featureCount) }
            }
        }
        return TrainingData(
            train: full, validation: validation, test: test, preprocessing: preprocessing, encoding: encoding)
    }
}
