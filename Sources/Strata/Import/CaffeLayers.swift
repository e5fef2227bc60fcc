/// Caffe's layers with parameters, one function each.
extension CaffeImport {
    /// Input, Data and the other data layers: the input shape, the batch size, where the data was.
    mutating func dataLayer(_ layer: SourceNode, type: String) {
        top = layer["top"]?.text
        if let dims = layer["input_param"]?["shape"]?.all("dim"), !dims.isEmpty {
            setInput(dims, at: layer["input_param"]?.location)
        } else if let memory = layer["memory_data_param"] {
            let dims = ["batch_size", "channels", "height", "width"].compactMap { memory[$0] }
            setInput(dims, at: memory.location)
            spec.batchSize = memory["batch_size"]?.integer
        } else if spec.input.isEmpty {
            if let given = options.input {
                spec.input = given
                shape = given
            } else {
                spec.error(
                    "the \(type) layer reads its images from a database and does not say their shape",
                    at: layer.location, help: "give it: strata import … --input HEIGHT,WIDTH,CHANNELS (e.g. 28,28,1)")
            }
        }
        let parameters = layer["data_param"] ?? layer["image_data_param"] ?? layer["hdf5_data_param"]
        if let batch = parameters?["batch_size"]?.integer, batch >= 1 { spec.batchSize = batch }
        if let source = parameters?["source"]?.text {
            spec.dataNotes.append(
                "Caffe read the training data from \(source) (\(type)); Strata reads CSV, IDX or inline data.")
        }
        if let transform = layer["transform_param"] {
            if let scale = transform["scale"]?.number { spec.dataKeys.append("scale: \(YAMLText.number(scale))") }
            for key in ["mean_file", "mean_value", "mirror", "crop_size"] where transform[key] != nil {
                spec.warning(
                    "transform_param \(key) has no Strata equivalent and is not imported", at: transform[key]?.location,
                    help: "prepare the data that way before training (Strata scales and standardizes only)")
            }
        }
    }

    mutating func convolution(_ layer: SourceNode) -> [ImportedSpec.Layer] {
        guard shape.count == 3, let p = layer["convolution_param"] else {
            spec.error("a Convolution needs convolution_param and an image input", at: layer.location)
            return []
        }
        guard let filters = p["num_output"]?.integer, filters >= 1 else {
            spec.error("num_output must be a whole number ≥ 1", at: p["num_output"]?.location ?? p.location)
            return []
        }
        for key in ["group", "dilation"] {
            if let node = p[key], node.integer != 1 {
                spec.error("\(key) \(node.described) has no Strata equivalent", at: node.location)
                return []
            }
        }
        guard let window = window(p, kernel: "kernel", defaultStride: 1) else { return [] }
        let (k, s, pad) = window
        let out = floorOutputs(k, s, pad)
        guard let padding = matchWindow(k: k, s: s, pad: pad, out: out, at: p.location, what: "convolution") else {
            return []
        }
        var keys = [("filters", String(filters)), ("kernel_size", pairText(k))]
        if s != [1, 1] { keys.append(("strides", pairText(s))) }
        if padding != "valid" { keys.append(("padding", padding)) }
        keys += weights(layer, p)
        shape = [out[0], out[1], filters]
        weighted.append(spec.layers.count)
        return [ImportedSpec.Layer(kind: "conv2d", keys: keys)]
    }

    mutating func pooling(_ layer: SourceNode) -> [ImportedSpec.Layer] {
        guard shape.count == 3 else {
            spec.error("a Pooling needs an image input", at: layer.location)
            return []
        }
        let p = layer["pooling_param"] ?? SourceNode(.object([]), at: layer.location)
        let method = p["pool"]?.text ?? "MAX"
        guard method == "MAX" || method == "AVE" else {
            spec.error(
                "\(method) pooling has no Strata equivalent", at: p["pool"]?.location, help: "Strata pools MAX or AVE")
            return []
        }
        if p["global_pooling"]?.bool == true {
            shape = [shape[2]]
            return [ImportedSpec.Layer(kind: method == "MAX" ? "global_max_pooling2d" : "global_average_pooling2d")]
        }
        guard let (k, s, pad) = window(p, kernel: "kernel", defaultStride: 1) else { return [] }
        // Caffe rounds up (unless round_mode is FLOOR), and drops a last window that would start in the padding.
        let roundUp = p["round_mode"]?.text != "FLOOR"
        var out: [Int] = []
        for axis in 0..<2 {
            let span: Int = shape[axis] + 2 * pad[axis] - k[axis]
            var n: Int = (span + (roundUp ? s[axis] - 1 : 0)) / s[axis] + 1
            if pad[axis] > 0, (n - 1) * s[axis] >= shape[axis] + pad[axis] { n -= 1 }
            out.append(n)
        }
        guard let padding = matchWindow(k: k, s: s, pad: pad, out: out, at: p.location, what: "pooling") else {
            return []
        }
        let floor = floorOutputs(k, s, pad)
        if out != floor {
            spec.warning(
                "Caffe rounds this pooling's output up to \(out[0])x\(out[1]) (down would be \(floor[0])x\(floor[1])); imported as `padding: same`, which gives the same shape",
                at: p.location)
        }
        if method == "AVE", pad != [0, 0] {
            spec.warning(
                "Caffe's average pooling counts padded cells; Strata's does not, so edge values differ", at: p.location)
        }
        var keys = [("pool_size", pairText(k))]
        if s != k { keys.append(("strides", pairText(s))) }
        if padding != "valid" { keys.append(("padding", padding)) }
        shape = [out[0], out[1], shape[2]]
        return [ImportedSpec.Layer(kind: method == "MAX" ? "max_pool2d" : "average_pooling2d", keys: keys)]
    }

    mutating func innerProduct(_ layer: SourceNode) -> [ImportedSpec.Layer] {
        guard let p = layer["inner_product_param"], let units = p["num_output"]?.integer, units >= 1 else {
            spec.error("an InnerProduct needs inner_product_param with num_output ≥ 1", at: layer.location)
            return []
        }
        if let axis = p["axis"], axis.integer != 1 {
            spec.error("InnerProduct axis \(axis.described) has no Strata equivalent", at: axis.location)
            return []
        }
        // Caffe's InnerProduct flattens what it is given.
        var made: [ImportedSpec.Layer] = []
        if shape.count == 3 {
            made.append(ImportedSpec.Layer(kind: "flatten"))
            shape = [elementCount(shape)]
        }
        weighted.append(spec.layers.count + made.count)
        made.append(ImportedSpec.Layer(kind: "dense", keys: [("units", String(units))] + weights(layer, p)))
        shape = [units]
        return made
    }

    mutating func batchNorm(_ layer: SourceNode, scale: SourceNode?) -> ImportedSpec.Layer {
        let p = layer["batch_norm_param"]
        var keys: [(String, String)] = []
        keys.append(("momentum", YAMLText.number(p?["moving_average_fraction"]?.number ?? 0.999)))
        keys.append(("epsilon", YAMLText.number(p?["eps"]?.number ?? 1e-5)))
        if let global = p?["use_global_stats"], global.bool == true {
            spec.warning(
                "use_global_stats: true normalizes by the stored statistics while training; Strata uses the batch's, as Caffe's default does",
                at: global.location)
        }
        if let scale {
            if scale["scale_param"]?["bias_term"]?.bool != true { keys.append(("center", "false")) }
        } else {
            keys += [("center", "false"), ("scale", "false")]
        }
        return ImportedSpec.Layer(kind: "batch_normalization", keys: keys)
    }

    /// A loss layer: the activation it computes through, and the spec's loss.
    mutating func loss(_ layer: SourceNode, type: String) -> [ImportedSpec.Layer] {
        guard spec.loss == nil else {
            spec.error("a second loss layer has no Strata equivalent", at: layer.location)
            return []
        }
        switch type {
        case "SoftmaxWithLoss":
            spec.loss = "sparse_categorical_crossentropy"
            return [activation("softmax")]
        case "SigmoidCrossEntropyLoss":
            spec.loss = "binary_crossentropy"
            return [activation("sigmoid")]
        default:
            // EuclideanLoss is ½·mean over the batch of Σ(y − t)²; Strata's mse averages over outputs too.
            spec.loss = "mse"
            let outputs = elementCount(shape)
            if outputs != 2 {
                spec.warning(
                    "Strata's mse is Caffe's EuclideanLoss × 2/\(outputs) (a mean over the outputs, without the ½), and so are its gradients: the same learning rate acts \(formatTwo(2 / Double(outputs)))× as large",
                    at: layer.location)
            }
            return []
        }
    }

    private func activation(_ function: String) -> ImportedSpec.Layer {
        ImportedSpec.Layer(kind: "activation", keys: [("function", function)])
    }

    /// kernel, stride and pad for both axes: `kernel_size` (one or two values) or `kernel_h`/`kernel_w`.
    private mutating func window(_ p: SourceNode, kernel: String, defaultStride: Int) -> ([Int], [Int], [Int])? {
        func pair(_ key: String, _ h: String, _ w: String, default value: Int?) -> [Int]? {
            if let a = p[h]?.integer, let b = p[w]?.integer { return [a, b] }
            let values = p.all(key).compactMap(\.integer)
            if values.count == 1 { return [values[0], values[0]] }
            if values.count == 2 { return values }
            return value.map { [$0, $0] }
        }
        guard let k = pair("kernel_size", "kernel_h", "kernel_w", default: nil), k.allSatisfy({ $0 >= 1 }) else {
            spec.error("kernel_size must be given, ≥ 1", at: p.location)
            return nil
        }
        let s = pair("stride", "stride_h", "stride_w", default: defaultStride) ?? [1, 1]
        let pad = pair("pad", "pad_h", "pad_w", default: 0) ?? [0, 0]
        guard s.allSatisfy({ $0 >= 1 }), pad.allSatisfy({ $0 >= 0 }) else {
            spec.error("strides must be ≥ 1 and pads ≥ 0", at: p.location)
            return nil
        }
        return (k, s, pad)
    }

    /// Strata's padding for Caffe's window, or an error giving both sizes.
    private mutating func matchWindow(
        k: [Int], s: [Int], pad: [Int], out: [Int], at location: SourceLocation, what: String
    )
        -> String?
    {
        let matches = (0..<2).map {
            ImportWindows.match(input: shape[$0], kernel: k[$0], stride: s[$0], padBefore: pad[$0], output: out[$0])
        }
        guard out.allSatisfy({ $0 >= 1 }), let match = ImportWindows.both(matches[0], matches[1]) else {
            let same = (0..<2).map { ImportWindows.same(input: shape[$0], kernel: k[$0], stride: s[$0]).output }
            spec.error(
                "this \(what) gives \(out[0])x\(out[1]) from \(shape[0])x\(shape[1]) in Caffe (pad \(pad[0])x\(pad[1])); Strata's `same` gives \(same[0])x\(same[1]) and `valid` pads nothing",
                at: location, help: "Strata pads as Keras does: none (valid), or to ⌈input / stride⌉ (same)")
            return nil
        }
        if case .shifted = match {
            spec.warning(
                "Caffe pads \(pad[0])x\(pad[1]) before the first window; Strata's `same` pads as Keras does, so the windows sit a pixel apart (same output size)",
                at: location)
        }
        return ImportWindows.padding(of: match)
    }

    /// Output sizes rounded down, as a Caffe convolution computes them.
    private func floorOutputs(_ k: [Int], _ s: [Int], _ pad: [Int]) -> [Int] {
        var out: [Int] = []
        for axis in 0..<2 {
            let span: Int = shape[axis] + 2 * pad[axis] - k[axis]
            out.append(span / s[axis] + 1)
        }
        return out
    }

    private func pairText(_ v: [Int]) -> String { v[0] == v[1] ? String(v[0]) : "[\(v[0]), \(v[1])]" }

    /// bias_term, the fillers, and the per-parameter multipliers (warned about: Strata has none).
    private mutating func weights(_ layer: SourceNode, _ p: SourceNode) -> [(String, String)] {
        var keys: [(String, String)] = []
        if p["bias_term"]?.bool == false { keys.append(("use_bias", "false")) }
        if let filler = p["weight_filler"], let value = initializer(from: filler, kernel: true) {
            keys.append(("kernel_initializer", value))
        }
        if let filler = p["bias_filler"], let value = initializer(from: filler, kernel: false) {
            keys.append(("bias_initializer", value))
        }
        let multipliers = layer.all("param").flatMap { [$0["lr_mult"], $0["decay_mult"]] }.compactMap { $0 }
        if !warnedMultipliers, let odd = multipliers.first(where: { $0.number != 1 }) {
            warnedMultipliers = true
            spec.warning(
                "per-parameter multipliers (lr_mult, decay_mult) have no Strata equivalent: every parameter trains at the optimizer's rate (said once for the net)",
                at: odd.location)
        }
        return keys
    }

    private mutating func initializer(from filler: SourceNode, kernel: Bool) -> String? {
        let type = filler["type"]?.text ?? "constant"
        switch type {
        case "constant":
            let value = filler["value"]?.number ?? 0
            return value == 0 && !kernel ? nil : "{constant: \(YAMLText.number(value))}"
        case "xavier", "msra":
            if !warnedFillers {
                warnedFillers = true
                spec.warning(
                    type == "xavier"
                        ? "Caffe's xavier filler is imported as glorot_uniform, whose scale differs (Caffe's divides by the fan-in alone by default, Glorot's by the mean of fan-in and fan-out)"
                        : "Caffe's msra filler is imported as he_normal: the same scale, but Keras draws from a truncated normal",
                    at: filler.location)
            }
            return type == "xavier" ? nil : "he_normal"
        default:
            spec.warning(
                "the \(type) filler has no Strata equivalent; the spec keeps Strata's default initializer",
                at: filler.location)
            return nil
        }
    }
}
