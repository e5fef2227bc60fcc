import Foundation
import Testing

@testable import Strata
import StrataTestSupport

@Test(arguments: ["linear.yaml", "xor.yaml", "iris.yaml", "digits.yaml"])
func bundledSpecChecksClean(name: String) {
    let (checked, _, diagnostics) = Checker.check(path: Paths.spec(name))
    #expect(checked != nil)
    #expect(diagnostics.items.isEmpty, "\(diagnostics.items.map(\.description))")
}

@Test(.needsFashionMNIST, arguments: ["fashion-mlp.yaml", "fashion-cnn.yaml", "fashion-cnn-bn.yaml"])
func fashionSpecChecksClean(name: String) {
    bundledSpecChecksClean(name: name)
}

@Test func fashionCNNSummaryMatchesHandComputedShapes() throws {
    // valid 3x3: 28→26, pool 2: 26→13, 3x3: 13→11, pool 2: 11→5 (floor), flatten 5·5·64 = 1600.
    let (spec, _) = SpecParser.load(path: Paths.spec("fashion-cnn.yaml"))
    let (checked, _, _) = Checker.check(try #require(spec), options: CheckOptions(readData: false))
    let summary = try #require(checked?.summary)
    #expect(
        summary.layers.map(\.name) == ["conv2d_1", "max_pool2d_1", "conv2d_2", "max_pool2d_2", "flatten_1", "dense_1"])
    #expect(
        summary.layers.map(\.outputShape) == [[26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64], [1600], [10]])
    // 3·3·1·32 + 32, 3·3·32·64 + 64, 1600·10 + 10
    #expect(summary.layers.map(\.params) == [320, 0, 18_496, 0, 0, 16_010])
    #expect(summary.totalParams == 34_826)
    // 2·(26·26·32)·9 + 26·26·32 bias adds, and so on.
    #expect(summary.layers[0].flops == 2 * 26 * 26 * 32 * 9 + 26 * 26 * 32)
    #expect(summary.layers[2].flops == 2 * 11 * 11 * 64 * 288 + 11 * 11 * 64)
    #expect(summary.layers[5].flops == 2 * 1600 * 10 + 10)
}

@Test func samePaddingRoundsUpForEvenKernelsAndStrides() throws {
    let text = """
        input: [7, 7, 3]
        layers:
          - conv2d: {filters: 2, kernel_size: 4, strides: 2, padding: same}
          - max_pool2d: {pool_size: 2, padding: same}
          - conv2d: {filters: 5, kernel_size: [2, 1], strides: [1, 2]}
          - flatten
          - dense: {units: 1}
        loss: mse
        optimizer: sgd
        data: {train: {inline: {x: [[0]], y: [1]}}}
        """
    let (spec, diagnostics) = SpecParser.parse(text: text, file: "same.yaml")
    #expect(diagnostics.items.isEmpty)
    let (_, summary, _) = Checker.check(try #require(spec), options: CheckOptions(readData: false))
    // same: ⌈7/2⌉ = 4 for an even kernel; pool same ⌈4/2⌉ = 2; valid [2, 1] stride [1, 2]: (2−2)/1+1 = 1, (2−1)/2+1 = 1.
    let shapes = try #require(summary).layers.map(\.outputShape)
    #expect(shapes == [[4, 4, 2], [2, 2, 2], [1, 1, 5], [5], [1]])
}

@Test func defaultNamesSkipNamesTheUserTook() throws {
    let text = """
        input: [4]
        layers:
          - dense: {units: 3}
          - dense: {name: dense_2, units: 3}
          - dense: {units: 1}
        loss: mse
        optimizer: sgd
        data: {train: {inline: {x: [[0, 0, 0, 0]], y: [1]}}}
        """
    let (spec, _) = SpecParser.parse(text: text, file: "names.yaml")
    #expect(try #require(spec).layers.map(\.name.value) == ["dense_1", "dense_2", "dense_3"])
}

@Test func linearSpecStartsFromTheLecturesLine() throws {
    let (spec, _) = SpecParser.load(path: Paths.spec("linear.yaml"))
    let first = try #require(spec).layers[0].kind
    let dense = try #require(first as? DenseSpec)
    #expect(dense.weights.kernelInitializer.value == .values([-1], shape: [1, 1]))
    #expect(dense.weights.biasInitializer.value == .values([5], shape: [1]))
}

@Test func editDistanceSuggestsNearMisses() {
    #expect(editDistance("kitten", "sitting") == 3)
    #expect(closestMatch(to: "lerning_rate", in: ["learning_rate", "momentum"]) == "learning_rate")
    #expect(closestMatch(to: "xyz", in: ["learning_rate", "momentum"]) == nil)
}
