import ONNXProto
import StrataEngine

/// Every layer kind a spec may name. A new kind is one file in this folder and one entry here.
public enum LayerRegistry {
    public static let kinds: [any LayerKind.Type] = [
        DenseSpec.self, Conv2DSpec.self, MaxPool2DSpec.self, AveragePooling2DSpec.self,
        GlobalAveragePooling2DSpec.self, GlobalMaxPooling2DSpec.self, FlattenSpec.self, DropoutSpec.self,
        ActivationSpec.self, BatchNormalizationSpec.self,
    ]

    public static var typeNames: [String] { kinds.map { $0.typeName } }

    public static func kind(named name: String) -> (any LayerKind.Type)? { kinds.first { $0.typeName == name } }
}

/// An image layer's input is [height, width, channels]; the help fixes the two usual slips, a flat input and an
/// image without its channel.
func requireImage(_ input: [Int]) throws(ShapeProblem) {
    guard input.count != 3 else { return }
    let help: String? =
        switch input.count {
        case 1: "set `input` to the image shape, e.g. [28, 28, 1], and flatten after the convolutions"
        case 2: "give the channels too, last: [\(input[0]), \(input[1]), 1] for a grayscale image, 3 for color"
        default: nil
        }
    throw .needs("[height, width, channels]", help: help)
}

/// Output height and width of a sliding window by Keras' rules, or the problem with `size` (at its location).
func windowOutput(
    _ input: [Int], size: Located<[Int]>, strides: [Int], padding: Padding, what: String, name: String
) throws(ShapeProblem) -> Window {
    try requireImage(input)
    let (k, s) = (size.value, strides)
    if padding == .valid, k[0] > input[0] || k[1] > input[1] {
        throw .invalid(
            "\(what) \(describeShape(k)) of \(name) is larger than its input \(input[0])x\(input[1])",
            at: size.location,
            help: "use a smaller \(what), or `padding: same`")
    }
    guard
        let window = Window(
            input: (input[0], input[1]), kernel: (k[0], k[1]), strides: (s[0], s[1]), same: padding == .same)
    else {
        throw .invalid(
            "\(what) \(describeShape(k)) with strides \(describeShape(s)) of \(name) is too large to lay over its input",
            at: size.location, help: "use sizes no larger than the input")
    }
    return window
}

/// The engine's activation layer for a dense or conv2d layer's `activation:`, if it is not linear.
func activationLayers(_ activation: Located<ActivationKind>?, name: String, shape: [Int]) -> [Layer] {
    guard let kind = activation?.value, kind != .linear else { return [] }
    return [ActivationLayer(name: name, kind: kind, shape: shape)]
}

extension Window {
    /// ONNX's window attributes: kernel_shape, strides, and pads [top, left, bottom, right] as same padding puts
    /// them (the odd one after), none for valid.
    var onnxAttributes: [Onnx_AttributeProto] {
        let bottom = max((outputHeight - 1) * strideHeight + kernelHeight - inputHeight - padTop, 0)
        let right = max((outputWidth - 1) * strideWidth + kernelWidth - inputWidth - padLeft, 0)
        return [
            ONNXGraph.attribute("kernel_shape", ints: [kernelHeight, kernelWidth]),
            ONNXGraph.attribute("strides", ints: [strideHeight, strideWidth]),
            ONNXGraph.attribute("pads", ints: [padTop, padLeft, bottom, right]),
        ]
    }

    var size: String { "\(kernelHeight)x\(kernelWidth)" }
    var strideText: String { "\(strideHeight)x\(strideWidth)" }
}
