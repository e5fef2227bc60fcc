import Foundation
import Testing

@testable import StrataEngine

/// Finite differences of each loss in its input (predictions or logits); the loss is a batch mean, returned as
/// a sum, so the objective divides by the batch.
private func checkLoss(
    batch: Int, width: Int, inputs: [Float], targets: [Float],
    _ loss: (UnsafeMutablePointer<Float>?, UnsafePointer<Float>, UnsafePointer<Float>) -> Double,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let x = Tensor(shape: [batch, width], values: inputs)
    let y = Tensor(shape: [targets.count], values: targets)
    let gradient = Tensor(shape: [batch, width])
    _ = loss(gradient.pointer, x.pointer, y.pointer)
    let h: Float = 1e-2
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + h
        let plus = loss(nil, x.pointer, y.pointer) / Double(batch)
        x[i] = saved - h
        let minus = loss(nil, x.pointer, y.pointer) / Double(batch)
        x[i] = saved
        let numeric = (plus - minus) / Double(2 * h)
        let analytic = Double(gradient[i])
        #expect(
            abs(numeric - analytic) <= 1e-3 + 1e-2 * abs(numeric), "[\(i)] backward \(analytic) vs \(numeric)",
            sourceLocation: sourceLocation)
    }
}

/// Softmax probabilities of logits, recomputed for each evaluation as the network's forward would.
private func withSoftmax(
    _ body:
        @escaping (UnsafeMutablePointer<Float>?, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) ->
        Double,
    batch: Int, width: Int, sigmoid: Bool = false
) -> (UnsafeMutablePointer<Float>?, UnsafePointer<Float>, UnsafePointer<Float>) -> Double {
    let probabilities = Tensor(shape: [batch, width])
    return { g, z, y in
        ActivationKernels.forward(
            probabilities.pointer, z, count: batch * width, width: width, kind: sigmoid ? .sigmoid : .softmax)
        return body(g, z, probabilities.pointer, y)
    }
}

@Test func meanSquaredErrorGradient() {
    checkLoss(batch: 2, width: 3, inputs: [0.5, -1, 2, 0.1, 0.3, -0.7], targets: [1, 0, 2.5, 0, 0, 1]) {
        Losses.meanSquaredError(gradient: $0, predictions: $1, targets: $2, batch: 2, width: 3)
    }
}

@Test func meanAbsoluteErrorGradient() {
    checkLoss(batch: 2, width: 2, inputs: [0.5, -1, 2, 0.1], targets: [1, 0, 2.5, 0.3]) {
        Losses.meanAbsoluteError(gradient: $0, predictions: $1, targets: $2, batch: 2, width: 2)
    }
}

@Test func softmaxCrossEntropyGradient() {
    let loss = withSoftmax(
        { Losses.softmaxCrossEntropy(gradient: $0, logits: $1, probabilities: $2, targets: $3, batch: 2, classes: 3) },
        batch: 2, width: 3)
    checkLoss(batch: 2, width: 3, inputs: [0.5, -1, 2, 0.1, 0.3, -0.7], targets: [0, 0, 1, 1, 0, 0], loss)
}

@Test func sparseSoftmaxCrossEntropyGradient() {
    let loss = withSoftmax(
        {
            Losses.sparseSoftmaxCrossEntropy(
                gradient: $0, logits: $1, probabilities: $2, targets: $3, batch: 2, classes: 3)
        }, batch: 2, width: 3)
    checkLoss(batch: 2, width: 3, inputs: [0.5, -1, 2, 0.1, 0.3, -0.7], targets: [2, 0], loss)
}

@Test func sigmoidBinaryCrossEntropyGradient() {
    let loss = withSoftmax(
        {
            Losses.sigmoidBinaryCrossEntropy(
                gradient: $0, logits: $1, probabilities: $2, targets: $3, batch: 3, width: 1)
        }, batch: 3, width: 1, sigmoid: true)
    checkLoss(batch: 3, width: 1, inputs: [0.5, -1, 2], targets: [1, 0, 0], loss)
}

@Test func crossEntropyOnProbabilitiesGradient() {
    checkLoss(batch: 1, width: 3, inputs: [0.4, 0.6, 0.5], targets: [0, 1, 0]) {
        Losses.crossEntropy(gradient: $0, probabilities: $1, targets: $2, batch: 1, classes: 3)
    }
}

@Test func crossEntropyOfTheLectureExample() {
    // −Σ y·log ŷ with y = [0, 1, 0], ŷ = [0.4, 0.6, 0.5]: −log 0.6.
    let p = Tensor(shape: [1, 3], values: [0.4, 0.6, 0.5]), y = Tensor(shape: [1, 3], values: [0, 1, 0])
    let loss = Losses.crossEntropy(gradient: nil, probabilities: p.pointer, targets: y.pointer, batch: 1, classes: 3)
    #expect(abs(loss - 0.5108) < 1e-4)
}

@Test func fusedLossesStayFiniteForExtremeLogits() {
    let z = Tensor(shape: [1, 2], values: [1000, -1000]), p = Tensor(shape: [1, 2])
    ActivationKernels.forward(p.pointer, z.pointer, count: 2, width: 2, kind: .softmax)
    let y = Tensor(shape: [1, 2], values: [0, 1])
    let loss = Losses.softmaxCrossEntropy(
        gradient: nil, logits: z.pointer, probabilities: p.pointer, targets: y.pointer, batch: 1, classes: 2)
    #expect(loss == 2000)
    let b = Losses.sigmoidBinaryCrossEntropy(
        gradient: nil, logits: z.pointer, probabilities: p.pointer, targets: y.pointer, batch: 1, width: 2)
    #expect(b.isFinite && abs(b - 1000) < 1e-6)
}

@Test func metricsOverAnEpochAreExact() {
    var metrics = MetricAccumulator()
    let out = Tensor(shape: [2, 1], values: [4, 3]), y = Tensor(shape: [2, 1], values: [3, 5])
    metrics.add(outputs: out.pointer, targets: y.pointer, batch: 2, width: 1, targetWidth: 1, loss: 5)
    #expect(metrics.value(.mse) == 2.5)
    #expect(abs(metrics.value(.rmse) - 1.5811) < 1e-4)
    #expect(metrics.value(.mae) == 1.5)
    #expect(metrics.meanLoss == 2.5)
    var classes = MetricAccumulator()
    let probabilities = Tensor(shape: [2, 3], values: [0.1, 0.7, 0.2, 0.5, 0.3, 0.2]),
        labels = Tensor(shape: [2, 1], values: [1, 2])
    classes.add(outputs: probabilities.pointer, targets: labels.pointer, batch: 2, width: 3, targetWidth: 1, loss: 0)
    #expect(classes.value(.accuracy) == 0.5)
}

/// The sparse loss reads −log p off the softmax: it must agree with the one-hot loss (log-sum-exp − z), and a
/// class whose probability underflows must still give a finite loss, not a false NaN stop.
@Test func sparseSoftmaxCrossEntropyMatchesOneHotValue() {
    let logits: [Float] = [0.5, -1, 2, 0.1, 0.3, -0.7, 95, -5, 0]
    let loss = { (targets: [Float], sparse: Bool) -> Double in
        let z = Tensor(shape: [3, 3], values: logits), y = Tensor(shape: [targets.count], values: targets)
        let p = Tensor(shape: [3, 3])
        ActivationKernels.forward(p.pointer, z.pointer, count: 9, width: 3, kind: .softmax)
        let (logits, probabilities, labels) = (z.pointer, p.pointer, y.pointer)
        return sparse
            ? Losses.sparseSoftmaxCrossEntropy(
                gradient: nil, logits: logits, probabilities: probabilities, targets: labels, batch: 3, classes: 3)
            : Losses.softmaxCrossEntropy(
                gradient: nil, logits: logits, probabilities: probabilities, targets: labels, batch: 3, classes: 3)
    }
    let sparse = loss([2, 0, 1], true), oneHot = loss([0, 0, 1, 1, 0, 0, 0, 1, 0], false)
    #expect(sparse.isFinite && sparse > 100, "the third example's p underflows to 0: \(sparse)")
    #expect(abs(sparse - oneHot) <= 1e-6 * oneHot)
}
