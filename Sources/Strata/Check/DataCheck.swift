/// Checks the data against the spec: feature count against `input`, labels against the loss, classes against
/// the output width, and what the validation split leaves of each class.
struct DataCheck {
    let spec: Spec
    let data: DataSpec
    var diagnostics = Diagnostics()

    mutating func run(outputShape: [Int]?) -> DataFacts? {
        let probe: SourceProbe
        do {
            probe = try SourceProbe.probe(data.train.value, specFile: spec.file)
        } catch let error as DataError {
            report(error, at: data.train.location)
            return nil
        } catch {
            diagnostics.error("cannot read the training data: \(error)", at: data.train.location)
            return nil
        }
        checkFeatures(probe)
        for source in [data.validation, data.test].compactMap({ $0 }) {
            do {
                let other = try SourceProbe.probe(source.value, specFile: spec.file)
                checkFeatures(other, source: source.location)
            } catch let error as DataError {
                report(error, at: source.location)
            } catch {
                diagnostics.error("cannot read the data: \(error)", at: source.location)
            }
        }
        let labels = asStated(probe.labels)
        guard let encoding = resolveEncoding(labels) else { return nil }
        let counts = encoding.classCount.flatMap { classCounts(labels, encoding: encoding, classes: $0) }
        if let outputShape { checkOutputWidth(outputShape, encoding: encoding) }
        // Regression data is one group for the split rules.
        checkSplits(counts ?? [probe.examples], encoding: encoding)
        let datasets = diagnostics.hasErrors ? nil : load(encoding, trainTable: probe.table)
        return DataFacts(train: probe, encoding: encoding, classCounts: counts, datasets: datasets)
    }

    /// Reads every source in full with the resolved encoding: a bad cell anywhere is found now, not in training,
    /// and training reuses what was read.
    private mutating func load(_ encoding: LabelEncoding, trainTable: CSVTable?) -> LoadedSources? {
        let loader = DatasetLoader(
            encoding: encoding, loss: spec.loss.value, specFile: spec.file, featureCount: elementCount(spec.input.value)
        )
        func read(_ source: Located<DataSource>, table: CSVTable? = nil) -> Dataset? {
            do {
                return try loader.load(source.value, table: table)
            } catch let error as DataError {
                report(error, at: source.location)
            } catch {
                diagnostics.error("cannot read the data: \(error)", at: source.location)
            }
            return nil
        }
        let train = read(data.train, table: trainTable)
        let validation = data.validation.map { read($0) }
        let test = data.test.map { read($0) }
        guard let train, validation.map({ $0 != nil }) ?? true, test.map({ $0 != nil }) ?? true else { return nil }
        return LoadedSources(train: train, validation: validation ?? nil, test: test ?? nil)
    }

    private mutating func report(_ error: DataError, at location: SourceLocation) {
        diagnostics.error(
            "\(error.path)\(error.place.map { ", \($0)" } ?? ""): \(error.message)", at: location, help: error.help)
    }

    private mutating func checkFeatures(_ probe: SourceProbe, source: SourceLocation? = nil) {
        let features = elementCount(probe.featureShape)
        let expected = elementCount(spec.input.value)
        guard features != expected else { return }
        diagnostics.error(
            "input \(describeShape(spec.input.value)) holds \(expected) values, but the data has \(features) features per example (\(describeShape(probe.featureShape)))",
            at: source ?? spec.input.location,
            help: "set `input: \(describeShape(probe.featureShape))` or choose the feature columns")
    }

    /// With `labels: names`, a numeric label column holds names that happen to be numbers ("3" is a name, not
    /// index 3), as the loader reads them; everything after this sees names.
    private func asStated(_ labels: RawLabels) -> RawLabels {
        guard data.labels?.value == .names, case .numbers(let rows) = labels else { return labels }
        return .names(rows.map { $0.map { Strata.format($0) }.joined(separator: ",") })
    }

    private mutating func resolveEncoding(_ labels: RawLabels) -> LabelEncoding? {
        let loss = spec.loss.value
        let oneHot = data.oneHot?.value ?? false
        var format: LabelFormat
        let width: Int
        switch labels {
        case .names:
            format = .names
            width = 1
        case .numbers(let rows):
            width = rows.first?.count ?? 1
            let integral = rows.allSatisfy { $0.count == 1 && $0[0] >= 0 && $0[0] == $0[0].rounded() }
            format = loss.isClassification && width == 1 && integral ? .classes : .values
        }
        // Class indices index arrays; a label like 1e20 is a data error, not a class.
        if case .numbers(let rows) = labels, format == .classes || data.labels?.value == .classes,
            let huge = rows.firstIndex(where: { $0.count == 1 && $0[0] >= 1_000_000 })
        {
            diagnostics.error(
                "example \(huge + 1) has class \(Strata.format(rows[huge][0])); class indices must be below 1,000,000",
                at: data.labels?.location ?? data.train.location,
                help: "for numbers to regress on use `loss: mse` or `labels: values`")
            return nil
        }
        // Class indices are whole numbers from 0: name the first label that is not one (a fractional or negative
        // label is a data error, not a reason to read the labels as values).
        if loss == .sparseCategoricalCrossentropy || (loss == .categoricalCrossentropy && oneHot),
            data.labels?.value != .values, case .numbers(let rows) = labels, width == 1,
            let bad = rows.firstIndex(where: { $0[0] < 0 || $0[0] != $0[0].rounded() })
        {
            diagnostics.error(
                "example \(bad + 1) has label \(Strata.format(rows[bad][0])); class labels are whole numbers from 0 or class names",
                at: data.train.location,
                help: "fix that label in the data, or for numbers to regress on use `loss: mse`")
            return nil
        }
        if let stated = data.labels {
            if stated.value == .classes, case .names(let names) = labels {
                diagnostics.error(
                    "labels: classes needs class indices (whole numbers), but the labels are names such as '\(names[0])'",
                    at: stated.location, help: "use `labels: names` for class names")
                return nil
            }
            if stated.value == .classes, case .numbers(let rows) = labels,
                let bad = rows.firstIndex(where: { $0.count != 1 || $0[0] < 0 || $0[0] != $0[0].rounded() })
            {
                diagnostics.error(
                    "labels: classes needs one whole number ≥ 0 per example; example \(bad + 1) has \(rows[bad].map { Strata.format($0) }.joined(separator: ", "))",
                    at: stated.location)
                return nil
            }
            if stated.value == .values, case .names(let names) = labels {
                diagnostics.error(
                    "labels: values needs numbers, but the labels are names such as '\(names[0])'", at: stated.location,
                    help: "use `labels: names` for class names")
                return nil
            }
            format = stated.value
        }
        if format == .names, case .names = labels, !loss.isClassification {
            diagnostics.error(
                "\(loss.rawValue) needs numeric targets, but the labels are class names", at: spec.loss.location,
                help: "for classes use `loss: sparse_categorical_crossentropy` with a softmax output")
            return nil
        }
        var names = data.classNames?.value
        if format == .names, names == nil, case .names(let seen) = labels {
            names = Array(Set(seen)).sorted()
        }
        if format == .names, let names, case .names(let seen) = labels,
            let unknown = seen.first(where: { !names.contains($0) })
        {
            diagnostics.error(
                "the label '\(unknown)' is not in class_names", at: data.classNames?.location ?? data.train.location)
            return nil
        }
        var classCount: Int? = data.classes?.value ?? names?.count
        if classCount == nil, format == .classes, case .numbers(let rows) = labels {
            classCount = Int(rows.map { $0[0] }.max() ?? 0) + 1
        }
        if format == .values, loss == .categoricalCrossentropy { classCount = width }
        let isIndex = format == .classes || format == .names
        switch loss {
        case .categoricalCrossentropy where isIndex && !oneHot:
            diagnostics.error(
                "categorical_crossentropy needs one-hot targets, but the labels are class \(format == .names ? "names" : "indices")",
                at: spec.loss.location,
                help:
                    "add `one_hot: true` under `data:` to encode them, or use `loss: sparse_categorical_crossentropy`; −Σ y·log ŷ with y = 1 is not the cross-entropy of class 1"
            )
            return nil
        case .sparseCategoricalCrossentropy where oneHot:
            diagnostics.error(
                "sparse_categorical_crossentropy takes class indices, not one-hot vectors",
                at: data.oneHot?.location ?? spec.loss.location,
                help: "remove `one_hot: true`, or use `loss: categorical_crossentropy`")
            return nil
        case .sparseCategoricalCrossentropy where format == .values:
            diagnostics.error(
                "sparse_categorical_crossentropy takes one class index per example, but the labels are rows of \(width) numbers",
                at: spec.loss.location, help: "for one-hot rows use `loss: categorical_crossentropy`")
            return nil
        case .binaryCrossentropy where isIndex && (classCount ?? 2) != 2:
            diagnostics.error(
                "binary_crossentropy needs two classes, the data has \(classCount ?? 0)", at: spec.loss.location,
                help: "for more classes use `loss: sparse_categorical_crossentropy` with a softmax output")
            return nil
        case .mse where oneHot, .mae where oneHot:
            diagnostics.error(
                "one_hot is for classification losses, not \(loss.rawValue)",
                at: data.oneHot?.location ?? spec.loss.location)
            return nil
        default:
            break
        }
        if let count = classCount, isIndex, case .numbers(let rows) = labels,
            let bad = rows.firstIndex(where: { Int($0[0]) >= count })
        {
            diagnostics.error(
                "example \(bad + 1) has class \(Int(rows[bad][0])), outside the \(count) classes 0...\(count - 1)",
                at: data.classes?.location ?? data.train.location)
            return nil
        }
        let targetWidth = isIndex ? (oneHot ? classCount ?? 1 : 1) : width
        return LabelEncoding(
            format: format, oneHot: oneHot, classNames: names, classCount: loss.isClassification ? classCount : nil,
            targetWidth: targetWidth)
    }

    private func classCounts(_ labels: RawLabels, encoding: LabelEncoding, classes: Int) -> [Int]? {
        var counts = [Int](repeating: 0, count: classes)
        switch labels {
        case .names(let names):
            guard let table = encoding.classNames else { return nil }
            let index = Dictionary(uniqueKeysWithValues: table.enumerated().map { ($1, $0) })
            for name in names { if let i = index[name] { counts[i] += 1 } }
        case .numbers(let rows):
            if encoding.format == .values {
                for row in rows {
                    if let i = row.indices.max(by: { row[$0] < row[$1] }), i < classes { counts[i] += 1 }
                }
            } else {
                for row in rows where Int(row[0]) < classes { counts[Int(row[0])] += 1 }
            }
        }
        return counts
    }

    private mutating func checkOutputWidth(_ output: [Int], encoding: LabelEncoding) {
        guard output.count == 1, let last = spec.layers.last else { return }
        let width = output[0]
        switch spec.loss.value {
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy:
            if let classes = encoding.classCount, classes != width {
                diagnostics.error(
                    "\(last.name.value) has \(width) units, but the data has \(classes) classes", at: last.location,
                    help: "set `units: \(classes)` on the last layer")
            }
        case .binaryCrossentropy:
            break
        case .mse, .mae:
            if encoding.targetWidth != width {
                diagnostics.error(
                    "\(last.name.value) has \(width) outputs, but each target has \(encoding.targetWidth) values",
                    at: last.location,
                    help: "set `units: \(encoding.targetWidth)` on the last layer")
            }
        }
    }

    /// A cosine schedule without a floor (alpha 0) holds the learning rate at 0 after decay_steps: warn when
    /// whole epochs would then train nothing (as `--epochs 30` on a spec annealed over 5 does).
    private mutating func checkScheduleLength(batches: Int) {
        guard batches > 0, let schedule = spec.optimizer.schedule,
            case .cosine(let decaySteps, let alpha) = schedule.value, alpha == 0
        else { return }
        let epochs = spec.training.epochs.value
        // Both counts may be as large as an Int holds: no sum or product that could overflow.
        let lastMoving = decaySteps / batches + (decaySteps % batches == 0 ? 0 : 1)
        guard lastMoving < epochs else { return }
        let (steps, overflow) = epochs.multipliedReportingOverflow(by: batches)
        let whole =
            overflow
            ? ""
            : "set decay_steps: \(steps) (\(epochs) epochs of \(batches) batches) to anneal over the whole run, or "
        diagnostics.warning(
            "the cosine schedule brings the learning rate to 0 at step \(decaySteps), in epoch \(lastMoving) of \(epochs): epochs \(lastMoving + 1) to \(epochs) will not change the weights",
            at: schedule.location, help: whole + "set alpha above 0")
    }

    private mutating func checkSplits(_ counts: [Int], encoding: LabelEncoding) {
        let batch = spec.training.batchSize.value
        var remaining = counts
        for (fraction, what) in [
            (data.testSplit, "test_split"), (spec.training.validationSplit.value, "validation_split"),
        ] where fraction > 0 {
            let location = what == "test_split" ? data.train.location : spec.training.validationSplit.location
            let held = StratifiedSplit.heldOutCounts(classCounts: remaining, fraction: fraction)
            for (index, count) in remaining.enumerated() where count > 0 {
                let group =
                    encoding.classCount == nil
                    ? "the data" : "class " + (encoding.classNames.map { "'\($0[index])'" } ?? "\(index)")
                if held[index] == 0 {
                    diagnostics.error(
                        "\(what) \(Strata.format(fraction)) leaves \(group) (\(count) examples) with no held-out examples",
                        at: location, help: "raise \(what), or give a separate source")
                } else if held[index] == count {
                    diagnostics.error(
                        "\(what) \(Strata.format(fraction)) leaves \(group) with no training examples", at: location)
                }
            }
            remaining = zip(remaining, held).map { $0 - $1 }
        }
        let training = remaining.reduce(0, +)
        checkScheduleLength(batches: (training + batch - 1) / max(batch, 1))
        if batch > training, training > 0, spec.training.batchSizeChosen {
            diagnostics.warning(
                "batch_size \(batch) is larger than the \(training) training examples: every step uses all of them",
                at: spec.training.batchSize.location,
                help: "that is full-batch gradient descent; for mini-batches set batch_size below \(training)")
        }
    }
}
