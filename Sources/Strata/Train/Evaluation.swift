import StrataEngine

/// Loss and metrics of a model over a dataset, with the confusion matrix for classifiers.
public struct Evaluation: Sendable {
    public var metrics: MetricAccumulator
    /// confusion[actual][predicted], for classification.
    public var confusion: [[Int]]?

    public var loss: Double { metrics.meanLoss }
}

extension ModelPlan {
    /// Copies examples `order[start..<start + count]` of `dataset` into the network's input and target buffers.
    func load(_ dataset: Dataset, order: UnsafeBufferPointer<Int>?, start: Int, count: Int) {
        precondition(
            dataset.featureCount * network.maxBatch == network.input.count && dataset.targetWidth == network.targetWidth
        )
        guard count > 0 else { return }
        dataset.features.withUnsafeBufferPointer { features in
            dataset.targets.withUnsafeBufferPointer { targets in
                network.loadBatch(
                    features: features.baseAddress!, targets: targets.baseAddress!, order: order?.baseAddress,
                    start: start, count: count,
                    total: dataset.count)
            }
        }
    }

    /// Part `part` of `parts` of that copy, into the network's spare buffers (`Network.loadSpareRows`).
    func loadSpare(
        _ dataset: Dataset, order: UnsafeBufferPointer<Int>?, start: Int, count: Int, part: Int, of parts: Int
    ) {
        guard count > 0 else { return }
        dataset.features.withUnsafeBufferPointer { features in
            dataset.targets.withUnsafeBufferPointer { targets in
                network.loadSpareRows(
                    part: part, of: parts, features: features.baseAddress!, targets: targets.baseAddress!,
                    order: order?.baseAddress,
                    start: start, count: count)
            }
        }
    }

    /// Forward passes in evaluation mode (dropout off) over the dataset's `rows` (all of them by default), in order.
    public func evaluate(_ dataset: Dataset, classCount: Int?, rows: Range<Int>? = nil) -> Evaluation {
        let rows = rows ?? 0..<dataset.count
        var metrics = MetricAccumulator()
        let classes = classCount ?? 0
        var confusion = classCount.map { [[Int]](repeating: [Int](repeating: 0, count: $0), count: $0) }
        let context = StepContext(training: false, step: 0, seed: spec.seed, workspace: network.workspace)
        let width = network.outputWidth, targetWidth = network.targetWidth
        // Keras counts the regularizers' penalty in every batch's loss, in evaluation too.
        let penalty = network.regularizationPenalty()
        var start = rows.lowerBound
        while start < rows.upperBound {
            let batch = min(network.maxBatch, rows.upperBound - start)
            load(dataset, order: nil, start: start, count: batch)
            context.timedStep(rows: batch) { network.forward(batch: batch, context: $0) }
            var loss = network.computeLoss(batch: batch, gradient: false)
            if penalty != 0 { loss += penalty * Double(batch) }
            metrics.add(
                outputs: network.output.pointer, targets: network.targets.pointer, batch: batch, width: width,
                targetWidth: targetWidth, loss: loss)
            if confusion != nil {
                for row in 0..<batch {
                    let out = network.output.pointer + row * width, target = network.targets.pointer + row * targetWidth
                    let predicted = width == 1 ? (out[0] >= 0.5 ? 1 : 0) : argmax(out, width)
                    let actual =
                        targetWidth == 1
                        ? (width == 1 ? (target[0] >= 0.5 ? 1 : 0) : Int(target[0])) : argmax(target, targetWidth)
                    if actual < classes && predicted < classes { confusion![actual][predicted] += 1 }
                }
            }
            start += batch
        }
        return Evaluation(metrics: metrics, confusion: confusion)
    }
}
