import StrataEngine

/// A checkpoint is untrusted input: its JSON metadata is checked against the spec it carries and the model that
/// spec builds before anything is allocated or indexed from it. Each problem names the field.
extension Checkpoint {
    /// Checks the label encoding, preprocessing and training state for a model with `outputWidth` outputs and
    /// `featureCount` inputs trained with `loss`.
    public func validate(path: String, loss: LossKind, outputWidth: Int, featureCount: Int) throws {
        var problems: [String] = []
        problems += labelProblems(loss: loss, outputWidth: outputWidth)
        problems += preprocessingProblems(featureCount: featureCount)
        problems += stateProblems()
        if let names = featureNames, names.count != featureCount {
            problems.append("'feature_names' lists \(names.count) columns for \(featureCount) features")
        }
        guard problems.isEmpty else {
            throw CheckpointError(
                path: path, message: "its metadata does not fit its model: " + problems.joined(separator: "; "))
        }
    }

    private func labelProblems(loss: LossKind, outputWidth w: Int) -> [String] {
        let e = encoding
        var problems: [String] = []
        let expectedWidth: Int
        let expectedClasses: ClosedRange<Int>?
        switch loss {
        case .categoricalCrossentropy: (expectedWidth, expectedClasses) = (w, w...w)
        case .sparseCategoricalCrossentropy: (expectedWidth, expectedClasses) = (1, w...w)
        case .binaryCrossentropy: (expectedWidth, expectedClasses) = (1, 2...2)
        case .mse, .mae: (expectedWidth, expectedClasses) = (w, nil)
        }
        if e.targetWidth != expectedWidth {
            problems.append(
                "'labels.targetWidth' is \(e.targetWidth), but \(loss.rawValue) on \(w) outputs needs \(expectedWidth)")
        }
        if let count = e.classCount {
            if let expectedClasses, !expectedClasses.contains(count) {
                problems.append(
                    "'labels.classCount' is \(count), but the model has \(w) output\(w == 1 ? "" : "s") for \(loss.rawValue)"
                )
            } else if expectedClasses == nil {
                problems.append("'labels.classCount' is \(count), but \(loss.rawValue) is a regression")
            }
        } else if loss != .binaryCrossentropy, expectedClasses != nil {
            problems.append("'labels.classCount' is missing for \(loss.rawValue)")
        }
        if let names = e.classNames, let count = e.classCount, names.count != count {
            problems.append("'labels.classNames' lists \(names.count) names for \(count) classes")
        }
        if e.format == .names, e.classNames == nil {
            problems.append("'labels.classNames' is missing for labels given as names")
        }
        return problems
    }

    private func preprocessingProblems(featureCount: Int) -> [String] {
        let p = preprocessing
        var problems: [String] = []
        if let scale = p.scale, !(scale.isFinite && scale > 0) {
            problems.append("'preprocessing.scale' is \(scale), not a positive finite number")
        }
        switch (p.mean, p.standardDeviation) {
        case (nil, nil):
            break
        case (let mean?, let deviation?):
            if mean.count != featureCount || deviation.count != featureCount {
                problems.append(
                    "'preprocessing' has \(mean.count) means and \(deviation.count) deviations for \(featureCount) features"
                )
            } else if !mean.allSatisfy(\.isFinite) || !deviation.allSatisfy({ $0.isFinite && $0 > 0 }) {
                problems.append("'preprocessing' holds a non-finite mean or a deviation that is not positive")
            }
        default:
            problems.append("'preprocessing' has a mean without a standard deviation, or the reverse")
        }
        return problems
    }

    private func stateProblems() -> [String] {
        let s = state
        var problems: [String] = []
        if s.epoch < 0 { problems.append("'state.epoch' is \(s.epoch)") }
        if s.batch < 0 { problems.append("'state.batch' is \(s.batch)") }
        if s.iterations < 0 { problems.append("'state.iterations' is \(s.iterations)") }
        if s.history.count != max(s.epoch, 0) {
            problems.append("'state.history' holds \(s.history.count) epochs, but 'state.epoch' is \(s.epoch)")
        }
        if let partial = s.partial {
            let m = partial.metrics
            if [m.examples, m.elements, m.correct].contains(where: { $0 < 0 }) || m.correct > m.examples {
                problems.append("'state.partial' holds negative or inconsistent counts")
            }
        }
        if s.monitor.wait < 0 || s.monitor.bestEpoch < 0 || s.monitor.bestEpoch > max(s.epoch, 0) {
            problems.append(
                "'state.monitor' is out of range (wait \(s.monitor.wait), best epoch \(s.monitor.bestEpoch))")
        }
        return problems
    }
}
