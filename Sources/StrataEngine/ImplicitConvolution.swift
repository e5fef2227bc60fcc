import CStrataKernels

/// Convolution as implicit GEMM (AVX2, filters a multiple of 16): the C kernels read windows straight from the
/// image through offset tables, so the batch·positions·patch column matrix of im2col is never written.
/// Padding is applied by copying each example into a zero-bordered image; the input gradient is formed in
/// such an image and its interior copied out. Only the top-left `used` rows and columns of the output are
/// computed (the rest is set to 0): the plan trims those a following max pooling never reads, whose gradient
/// is then 0 as well.
final class ImplicitConvolution {
    let window: Window
    let channels: Int, filters: Int
    let used: (height: Int, width: Int)
    /// Rows and columns of the (padded) image the kernels read.
    let imageHeight: Int, imageWidth: Int
    let padded: Bool
    private let rowBase: UnsafeMutablePointer<Int>
    private let rowOutput: UnsafeMutablePointer<Int>
    private let patchOffset: UnsafeMutablePointer<Int>
    /// The weights in the panel layouts the forward and input-gradient kernels stream contiguously (a 256-byte
    /// row stride would put every row in a quarter of the L1 sets); repacked before each use.
    private let packedWeight: UnsafeMutablePointer<Float>
    private let transposedWeight: UnsafeMutablePointer<Float>
    private let patch: Int
    /// Padded inputs for forward and the weight gradient, and the padded input gradient.
    private var paddedInput: UnsafeMutablePointer<Float>?
    private var paddedGradient: UnsafeMutablePointer<Float>?
    private var capacity = 0
    /// The buffers of the backward that sums only the nonzero values of dy, present while it is in use
    /// (`useSparseGradient`).
    private var sparse: SparseBuffers?
    static let maxSparseParts = 16

    init(window w: Window, channels: Int, filters: Int, used: (height: Int, width: Int)) {
        window = w
        self.channels = channels
        self.filters = filters
        self.used = (min(used.height, w.outputHeight), min(used.width, w.outputWidth))
        // The extent the windows reach, which also drops trailing rows a stride never visits.
        (imageHeight, imageWidth) = w.reach
        padded = w.padTop > 0 || w.padLeft > 0 || imageHeight > w.inputHeight || imageWidth > w.inputWidth
        let rowWidth = padded ? imageWidth : w.inputWidth
        rowBase = .allocate(capacity: self.used.height * self.used.width)
        rowOutput = .allocate(capacity: self.used.height * self.used.width)
        for oy in 0..<self.used.height {
            for ox in 0..<self.used.width {
                rowBase[oy * self.used.width + ox] = (oy * w.strideHeight * rowWidth + ox * w.strideWidth) * channels
                rowOutput[oy * self.used.width + ox] = oy * w.outputWidth + ox
            }
        }
        patch = w.kernelHeight * w.kernelWidth * channels
        patchOffset = .allocate(capacity: patch)
        for ky in 0..<w.kernelHeight {
            for kx in 0..<w.kernelWidth {
                for c in 0..<channels {
                    patchOffset[(ky * w.kernelWidth + kx) * channels + c] = (ky * rowWidth + kx) * channels + c
                }
            }
        }
        packedWeight = .allocate(capacity: patch * filters)
        transposedWeight = .allocate(capacity: (patch + 15) / 16 * 16 * filters)
    }

    /// Asks for the backward kernels that skip zeros in dy, for an output gradient that is mostly 0 (under a max
    /// pooling); the same bits either way. Takes effect where the kernels can run the geometry.
    func useSparseGradient(_ wanted: Bool) {
        guard wanted, withGeometry({ strata_conv_sparse_available($0) != 0 }) else {
            sparse = nil
            return
        }
        if sparse == nil {
            sparse = SparseBuffers(
                patch: patch, filters: filters, partBytes: withGeometry(strata_conv_sparse_scratch_bytes))
        }
    }

    deinit {
        rowBase.deallocate()
        rowOutput.deallocate()
        patchOffset.deallocate()
        packedWeight.deallocate()
        transposedWeight.deallocate()
        paddedInput?.deallocate()
        paddedGradient?.deallocate()
    }

    private var imageSize: Int {
        padded ? imageHeight * imageWidth * channels : window.inputHeight * window.inputWidth * channels
    }
    private var inputSize: Int { window.inputHeight * window.inputWidth * channels }

    func prepare(maxBatch: Int) {
        guard padded, maxBatch * imageSize > capacity else { return }
        paddedInput?.deallocate()
        paddedGradient?.deallocate()
        capacity = maxBatch * imageSize
        paddedInput = .allocate(capacity: capacity)
        paddedGradient = .allocate(capacity: capacity)
    }

    private func withGeometry<R>(_ body: (UnsafePointer<strata_conv_geometry>) -> R) -> R {
        let geometry = strata_conv_geometry(
            image: imageSize, positions: window.outputHeight * window.outputWidth, active: used.height * used.width,
            run: used.width, window_step: window.strideWidth * channels, patch: patch, filters: filters,
            row_base: rowBase, row_output: rowOutput, patch_offset: patchOffset)
        return withUnsafePointer(to: geometry, body)
    }

    /// The image the kernels read for `input`: the input itself, or its padded copy made by the forward pass.
    private func image(_ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        padded ? UnsafePointer(paddedInput!) : input
    }

    /// y[batch, OH, OW, F] = bias + windows · w; examples split across threads.
    func forward(
        _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, batch: Int, threads: Int
    ) {
        precondition(
            !padded || batch * imageSize <= capacity, "conv2d: prepare(maxBatch:) was not called for batch \(batch)")
        let parts = Parallel.parts(batch, threads: threads)
        let image = image(x)
        strata_conv_pack_weight(packedWeight, weight, patch, filters)
        withGeometry { geometry in
            Parallel.run(parts) { part in
                let examples = Parallel.share(part, of: parts, batch)
                if self.padded { self.pad(examples, x) }
                strata_conv_forward(
                    y, image, self.packedWeight, bias, examples.lowerBound, examples.upperBound, geometry)
                self.clearUnused(examples, y)
            }
        }
    }

    /// dw[patch, F] += Σ windows ⊗ dy, the tiles of dw split across threads (each summed over the whole batch).
    func weightGradient(
        _ dw: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        batch: Int, threads: Int
    ) {
        let image = image(x)
        withGeometry { geometry in
            // Sparse parts each read every window: one per thread.
            let parts =
                sparse != nil
                ? min(threads, filters / 16, Self.maxSparseParts) : weightParts(threads: threads, atMost: .max)
            Parallel.run(parts) { part in
                if let sparse = self.sparse {
                    let panels = Parallel.share(part, of: parts, self.filters / 16)
                    strata_conv_sparse_weight_gradient(
                        dw, sparse.transposedGradient, image, dy, batch, panels.lowerBound * 16, panels.upperBound * 16,
                        geometry,
                        sparse.scratch(part))
                    return
                }
                let tiles = weightTiles(part, of: parts, geometry)
                strata_conv_weight_gradient(dw, image, dy, batch, tiles.lowerBound, tiles.upperBound, geometry)
            }
        }
    }

    /// Convolution then a max pooling that tiles its used corner (see ConvPoolLayer): pooled outputs and winners,
    /// examples split into `parts` parts (at most the number of bands), each with its own band.
    func poolForward(
        _ pooled: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<UInt8>?, _ x: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, pool: strata_pool_shape,
        bands: UnsafeMutablePointer<Float>, bandSize: Int, parts: Int, batch: Int
    ) {
        precondition(
            !padded || batch * imageSize <= capacity, "conv2d: prepare(maxBatch:) was not called for batch \(batch)")
        let image = image(x)
        strata_conv_pack_weight(packedWeight, weight, patch, filters)
        withGeometry { geometry in
            withUnsafePointer(to: pool) { pool in
                Parallel.run(parts) { part in
                    let examples = Parallel.share(part, of: parts, batch)
                    if self.padded { self.pad(examples, x) }
                    strata_conv_pool_forward(
                        pooled, winners, image, self.packedWeight, bias, examples.lowerBound, examples.upperBound,
                        geometry, pool,
                        bands + part * bandSize)
                }
            }
        }
    }

    /// dw (and db) += the gradients through the fused pooling, parts of whole 16-filter panels.
    func poolWeightGradient(
        _ dw: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>?, _ x: UnsafePointer<Float>,
        pooledGradient: UnsafePointer<Float>, pooled: UnsafePointer<Float>, winners: UnsafePointer<UInt8>,
        pool: strata_pool_shape,
        bandOutput: UnsafePointer<Int>, bands: UnsafeMutablePointer<Float>, bandSize: Int, maxParts: Int,
        batch: Int, threads: Int
    ) {
        let image = image(x)
        withGeometry { geometry in
            withUnsafePointer(to: pool) { pool in
                let parts = weightParts(threads: threads, atMost: maxParts)
                Parallel.run(parts) { part in
                    let tiles = weightTiles(part, of: parts, geometry)
                    strata_conv_pool_weight_gradient(
                        dw, db, image, pooledGradient, pooled, winners, batch, tiles.lowerBound, tiles.upperBound,
                        geometry, pool,
                        bandOutput, bands + part * bandSize)
                }
            }
        }
    }

    /// dx[batch, H, W, C] from dy and the weights; examples split across threads.
    func inputGradient(
        _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        batch: Int, threads: Int
    ) {
        // The sparse kernel adds in the tile kernel's order only when each 16-tap panel lies in one pixel.
        let sparse = channels % 16 == 0 ? self.sparse : nil
        if let sparse {
            strata_conv_transpose_weight(sparse.filterRows, weight, patch, filters)
        } else {
            strata_conv_pack_transposed_weight(transposedWeight, weight, patch, filters)
        }
        let target = padded ? paddedGradient! : dx
        // At most as many parts as the sparse kernel has scratch for.
        let parts = min(Parallel.parts(batch, threads: threads), Self.maxSparseParts)
        withGeometry { geometry in
            Parallel.run(parts) { part in
                let examples = Parallel.share(part, of: parts, batch)
                if let sparse {
                    strata_conv_sparse_input_gradient(
                        target, dy, sparse.filterRows, examples.lowerBound, examples.upperBound, geometry,
                        sparse.scratch(part))
                } else {
                    strata_conv_input_gradient(
                        target, dy, self.transposedWeight, examples.lowerBound, examples.upperBound, geometry)
                }
                if self.padded { self.unpad(examples, dx) }
            }
        }
    }

    /// The weight gradient is cut into parts of whole 16-filter panels (tiles run panel by panel), so the tiles
    /// sharing a panel's gradient columns read them from cache in turn.
    private func weightParts(threads: Int, atMost limit: Int) -> Int {
        min(Parallel.parts(filters / 16, threads: threads), limit)
    }

    private func weightTiles(_ part: Int, of parts: Int, _ geometry: UnsafePointer<strata_conv_geometry>) -> Range<Int>
    {
        let tilesPerPanel = strata_conv_weight_tiles(geometry) / (filters / 16)
        let panels = Parallel.share(part, of: parts, filters / 16)
        return (panels.lowerBound * tilesPerPanel)..<(panels.upperBound * tilesPerPanel)
    }

    /// Sets the outputs right of and below the used corner to 0.
    private func clearUnused(_ examples: Range<Int>, _ y: UnsafeMutablePointer<Float>) {
        let w = window
        guard used.height < w.outputHeight || used.width < w.outputWidth else { return }
        for b in examples {
            let example = y + b * w.outputHeight * w.outputWidth * filters
            for oy in 0..<used.height {
                (example + (oy * w.outputWidth + used.width) * filters).update(
                    repeating: 0, count: (w.outputWidth - used.width) * filters)
            }
            (example + used.height * w.outputWidth * filters).update(
                repeating: 0, count: (w.outputHeight - used.height) * w.outputWidth * filters)
        }
    }

    /// Copies examples of x into the zero-bordered images.
    private func pad(_ examples: Range<Int>, _ x: UnsafePointer<Float>) {
        for b in examples {
            let image = paddedInput! + b * imageSize, source = x + b * inputSize
            image.update(repeating: 0, count: imageSize)
            forEachInteriorRow { input, inImage, count in (image + inImage).update(from: source + input, count: count) }
        }
    }

    /// Copies the interior of the padded input gradients into dx; inputs no window reached get 0.
    private func unpad(_ examples: Range<Int>, _ dx: UnsafeMutablePointer<Float>) {
        for b in examples {
            let target = dx + b * inputSize, image = paddedGradient! + b * imageSize
            target.update(repeating: 0, count: inputSize)
            forEachInteriorRow { input, inImage, count in (target + input).update(from: image + inImage, count: count) }
        }
    }

    /// Each input row's part inside the padded image: body(offset in the example's input, offset in its image,
    /// floats).
    private func forEachInteriorRow(_ body: (Int, Int, Int) -> Void) {
        let w = window, count = min(w.inputWidth, imageWidth - w.padLeft) * channels
        for iy in 0..<max(0, min(w.inputHeight, imageHeight - w.padTop)) {
            body(iy * w.inputWidth * channels, ((iy + w.padTop) * imageWidth + w.padLeft) * channels, count)
        }
    }
}

/// The sparse backward's buffers: the weight gradient and the weights as [F][patch] rows, and each part's lists
/// of nonzero values.
private final class SparseBuffers {
    let transposedGradient: UnsafeMutablePointer<Float>
    let filterRows: UnsafeMutablePointer<Float>
    private let lists: UnsafeMutableRawPointer
    private let partBytes: Int

    init(patch: Int, filters: Int, partBytes: Int) {
        transposedGradient = .allocate(capacity: patch * filters)
        filterRows = .allocate(capacity: patch * filters)
        lists = .allocate(byteCount: partBytes * ImplicitConvolution.maxSparseParts, alignment: 64)
        self.partBytes = partBytes
    }

    deinit {
        transposedGradient.deallocate()
        filterRows.deallocate()
        lists.deallocate()
    }

    func scratch(_ part: Int) -> UnsafeMutableRawPointer { lists + part * partBytes }
}
