import CDNNL

// One oneDNN convolution primitive for one layer shape and batch size: created once (oneDNN
// generates its JIT code then, ~0.1–1 ms), run for every batch of that size.

/// A 2-D convolution of an NCHW batch by oneDNN, the same function as `conv2d`:
/// `output [batch, outC, oh, ow] = conv(input [batch, inC, h, w], weight [outC, inC/groups, kh, kw]) + bias [outC]`,
/// then, with `accumulatesIntoOutput`, plus what `output` held before (a residual add fused
/// as oneDNN's `sum` post-op), then, with `relu`, `max(·, 0)` (an `eltwise_relu` post-op).
///
/// The primitive is oneDNN's direct algorithm (never Winograd), forward inference: a
/// convolution's forward computation is the same in PyTorch's training mode, so the BN pass
/// uses it too. With `Layout.plain`, oneDNN reads and writes our NCHW/OIHW buffers directly;
/// with `.blocked` it picks its own layouts (`dnnl_format_tag_any`, e.g. `nChw8c` with AVX2)
/// and the activations are reordered in and out at every run, the weights once.
///
/// oneDNN runs each call on its OpenMP threads (`OneDNN.maximumThreads`); the output does not
/// depend on how many (tested bit for bit; docs/PERFORMANCE.md). Not for concurrent use: a
/// `run` at a time per instance, and per `OneDNNStagingArea` among the primitives sharing one.
public final class OneDNNConvolution {
    /// Where the activations and weights live while oneDNN computes.
    public enum Layout: String, Sendable, CaseIterable {
        /// Our NCHW activations and OIHW weights, as they are.
        case plain
        /// oneDNN's preferred blocked layouts, reordered to and from ours.
        case blocked
    }

    /// The geometry, batch and input plane this primitive was made for.
    public let geometry: Conv2dGeometry
    public let batch: Int, height: Int, width: Int
    public let layout: Layout
    /// oneDNN's name for the implementation it chose (`jit:avx2`, `gemm:jit`, `brg:avx512_core`).
    public let implementation: String

    private let hasBias: Bool
    private let accumulatesIntoOutput: Bool
    private let stream: dnnl_stream_t
    private let convolution: dnnl_primitive_t
    // Memory objects over the caller's buffers (handles set at every run).
    private let userSource: dnnl_memory_t, userWeights: dnnl_memory_t, userDestination: dnnl_memory_t
    private let biasMemory: dnnl_memory_t?
    // With `.blocked`: oneDNN's own buffers and the reorders between them and ours. The weights'
    // buffer is this primitive's own; the activations' are borrowed from `staging` at each run.
    private let sourceStage: StagedBuffer?, weightStage: StagedBuffer?, destinationStage: StagedBuffer?
    private let staging: OneDNNStagingArea
    /// The weights last reordered into `weightStage` (the caller's weights never change under a pointer).
    private var preparedWeights: UnsafePointer<Float>?

    /// Creates the primitive, or returns nil when oneDNN has no engine or no implementation
    /// for this shape (the caller then uses `conv2d`).
    /// - Parameters:
    ///   - hasBias: whether `run` will pass a bias `[outC]`.
    ///   - accumulatesIntoOutput: add the output's previous contents (fused residual add).
    ///   - relu: clamp the result at 0 (fused ReLU), after the addition.
    ///   - staging: where the blocked layout's activations are staged; primitives that run one
    ///     after another (the layers of one forward pass) share one, so that memory is the
    ///     largest layer's, not the sum over layers. A primitive of its own by default.
    public init?(geometry: Conv2dGeometry, batch: Int, height: Int, width: Int, hasBias: Bool, layout: Layout = .plain,
                 accumulatesIntoOutput: Bool = false, relu: Bool = false, staging: OneDNNStagingArea = OneDNNStagingArea()) {
        guard let engine = OneDNN.engine, batch > 0 else { return nil }
        let (outputHeight, outputWidth) = geometry.validatedOutputSize(height: height, width: width)
        self.geometry = geometry
        self.batch = batch
        self.height = height
        self.width = width
        self.layout = layout
        self.hasBias = hasBias
        self.accumulatesIntoOutput = accumulatesIntoOutput
        self.staging = staging

        let g = geometry
        let grouped = g.groups > 1
        let sourceDims: [Int64] = [batch, g.inChannels, height, width].map(Int64.init)
        let destinationDims: [Int64] = [batch, g.outChannels, outputHeight, outputWidth].map(Int64.init)
        let weightDims: [Int64] = (grouped
            ? [g.groups, g.outChannels / g.groups, g.inChannels / g.groups, g.kernelHeight, g.kernelWidth]
            : [g.outChannels, g.inChannels, g.kernelHeight, g.kernelWidth]).map(Int64.init)
        let weightTag = grouped ? dnnl_goihw : dnnl_oihw
        let userSourceDesc = memoryDescriptor(sourceDims, dnnl_nchw)
        let userDestinationDesc = memoryDescriptor(destinationDims, dnnl_nchw)
        let userWeightDesc = memoryDescriptor(weightDims, weightTag)
        let biasDesc = memoryDescriptor([Int64(g.outChannels)], dnnl_a)
        let any = layout == .blocked
        var sourceDesc = any ? memoryDescriptor(sourceDims, dnnl_format_tag_any) : userSourceDesc
        var weightDesc = any ? memoryDescriptor(weightDims, dnnl_format_tag_any) : userWeightDesc
        var destinationDesc = any ? memoryDescriptor(destinationDims, dnnl_format_tag_any) : userDestinationDesc

        // The padding PyTorch's floor rule implies on the bottom/right edge (may be less than the top/left).
        let kernelExtentY = (g.kernelHeight - 1) * g.dilationY + 1, kernelExtentX = (g.kernelWidth - 1) * g.dilationX + 1
        let strides: [Int64] = [Int64(g.strideY), Int64(g.strideX)]
        let dilations: [Int64] = [Int64(g.dilationY - 1), Int64(g.dilationX - 1)]  // oneDNN counts the gaps
        let paddingLeft: [Int64] = [Int64(g.paddingY), Int64(g.paddingX)]
        let paddingRight: [Int64] = [Int64((outputHeight - 1) * g.strideY + kernelExtentY - height - g.paddingY),
                                     Int64((outputWidth - 1) * g.strideX + kernelExtentX - width - g.paddingX)]
        var description = dnnl_convolution_desc_t()
        var biasDescCopy = biasDesc
        let described = withUnsafePointer(to: &biasDescCopy) { bias in
            dnnl_dilated_convolution_forward_desc_init(&description, dnnl_forward_inference, dnnl_convolution_direct,
                                                       &sourceDesc, &weightDesc, hasBias ? bias : nil, &destinationDesc,
                                                       strides, dilations, paddingLeft, paddingRight)
        }
        guard described == dnnl_success else { return nil }

        var attributes: dnnl_primitive_attr_t?
        checkDNNL(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        if accumulatesIntoOutput || relu {
            var postOps: dnnl_post_ops_t?
            checkDNNL(dnnl_post_ops_create(&postOps), "dnnl_post_ops_create")
            defer { dnnl_post_ops_destroy(postOps) }
            if accumulatesIntoOutput { checkDNNL(dnnl_post_ops_append_sum(postOps, 1), "dnnl_post_ops_append_sum") }
            if relu { checkDNNL(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "dnnl_post_ops_append_eltwise") }
            checkDNNL(dnnl_primitive_attr_set_post_ops(attributes, postOps), "dnnl_primitive_attr_set_post_ops")
        }
        var primitiveDesc: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&primitiveDesc, &description, attributes, engine, nil) == dnnl_success,
              let primitiveDesc else { return nil }
        defer { dnnl_primitive_desc_destroy(primitiveDesc) }
        var name: UnsafePointer<CChar>?
        _ = dnnl_primitive_desc_query(primitiveDesc, dnnl_query_impl_info_str, 0, &name)
        implementation = name.map { String(cString: $0) } ?? "unknown"
        sourceDesc = dnnl_primitive_desc_query_md(primitiveDesc, dnnl_query_src_md, 0)!.pointee
        weightDesc = dnnl_primitive_desc_query_md(primitiveDesc, dnnl_query_weights_md, 0)!.pointee
        destinationDesc = dnnl_primitive_desc_query_md(primitiveDesc, dnnl_query_dst_md, 0)!.pointee
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, primitiveDesc) == dnnl_success, let primitive else { return nil }
        convolution = primitive

        var stream: dnnl_stream_t?
        checkDNNL(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        self.stream = stream!
        userSource = makeMemory(userSourceDesc, engine)
        userWeights = makeMemory(userWeightDesc, engine)
        userDestination = makeMemory(userDestinationDesc, engine)
        biasMemory = hasBias ? makeMemory(biasDesc, engine) : nil
        sourceStage = StagedBuffer(ours: userSourceDesc, theirs: sourceDesc, engine: engine, toTheirs: true,
                                   alsoBack: false, ownsStorage: false)
        weightStage = StagedBuffer(ours: userWeightDesc, theirs: weightDesc, engine: engine, toTheirs: true,
                                   alsoBack: false, ownsStorage: true)
        destinationStage = StagedBuffer(ours: userDestinationDesc, theirs: destinationDesc, engine: engine,
                                        toTheirs: false, alsoBack: accumulatesIntoOutput, ownsStorage: false)
    }

    deinit {
        dnnl_primitive_destroy(convolution)
        dnnl_memory_destroy(userSource)
        dnnl_memory_destroy(userWeights)
        dnnl_memory_destroy(userDestination)
        if let biasMemory { dnnl_memory_destroy(biasMemory) }
        dnnl_stream_destroy(stream)
    }

    /// Convolves `input` `[batch, inC, height, width]` into `output` `[batch, outC, oh, ow]`
    /// (adding to what `output` holds with `accumulatesIntoOutput`). `output` must not overlap
    /// `input`; `bias` is `[outC]`, present exactly when the primitive was made `hasBias`.
    public func run(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                    output: UnsafeMutablePointer<Float>) {
        precondition((bias != nil) == hasBias, "OneDNNConvolution: bias given to a primitive made \(hasBias ? "with" : "without") one")
        setHandle(userSource, input)
        setHandle(userWeights, weight)
        setHandle(userDestination, output)
        if let biasMemory, let bias { setHandle(biasMemory, bias) }
        if let sourceStage { setHandle(sourceStage.memory, staging.buffer(.source, byteCount: sourceStage.byteCount)) }
        if let destinationStage {
            setHandle(destinationStage.memory, staging.buffer(.destination, byteCount: destinationStage.byteCount))
        }
        if let weightStage, preparedWeights != weight {
            weightStage.reorder(from: userWeights, stream: stream)
            preparedWeights = weight
        }
        sourceStage?.reorder(from: userSource, stream: stream)
        if accumulatesIntoOutput { destinationStage?.reorderBack(from: userDestination, stream: stream) }
        var arguments = [
            dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: sourceStage?.memory ?? userSource),
            dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: weightStage?.memory ?? userWeights),
            dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destinationStage?.memory ?? userDestination),
        ]
        if let biasMemory { arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: biasMemory)) }
        checkDNNL(dnnl_primitive_execute(convolution, stream, Int32(arguments.count), arguments), "dnnl_primitive_execute (convolution)")
        destinationStage?.reorder(to: userDestination, stream: stream)
        checkDNNL(dnnl_stream_wait(stream), "dnnl_stream_wait")
    }
}

// MARK: - Staging between our layouts and oneDNN's

/// Buffers for the activations of blocked-layout convolutions that run one at a time: one for
/// the staged input and one for the staged output, each grown to the largest asked for and
/// kept. The layers of a forward pass share one (`ConvolutionLayers`), so staging costs the
/// largest layer's input and output (168 MB for WRN-28-10 at batch 128) instead of every
/// layer's (about 4 GB), and their pages are faulted in once instead of once per layer.
public final class OneDNNStagingArea {
    /// The two buffers a convolution needs at once.
    enum Slot: Int { case source, destination }

    private var buffers: [UnsafeMutableRawPointer?] = [nil, nil]
    private var capacities = [0, 0]

    /// An empty area; buffers are allocated on first use.
    public init() {}

    deinit { for buffer in buffers { buffer?.deallocate() } }

    /// The slot's buffer, at least `byteCount` bytes, 64-byte aligned; its contents are not kept
    /// when it grows.
    func buffer(_ slot: Slot, byteCount: Int) -> UnsafeMutableRawPointer {
        let index = slot.rawValue
        if capacities[index] < byteCount {
            buffers[index]?.deallocate()
            buffers[index] = .allocate(byteCount: byteCount, alignment: 64)
            capacities[index] = byteCount
        }
        return buffers[index]!
    }
}

/// A buffer in oneDNN's chosen layout with the reorders between it and ours; created only
/// when the two layouts differ.
private final class StagedBuffer {
    let memory: dnnl_memory_t
    /// Bytes the buffer in oneDNN's layout takes.
    let byteCount: Int
    /// The buffer, when this stage owns one; else the caller points `memory` at one before each use.
    private let storage: UnsafeMutableRawPointer?
    private let forward: dnnl_primitive_t?, backward: dnnl_primitive_t?

    /// nil when `theirs` equals `ours` (no staging needed). `toTheirs`: the main reorder goes
    /// ours → theirs (inputs), else theirs → ours (outputs); `alsoBack` adds the other one.
    init?(ours: dnnl_memory_desc_t, theirs: dnnl_memory_desc_t, engine: dnnl_engine_t, toTheirs: Bool, alsoBack: Bool,
          ownsStorage: Bool) {
        var ours = ours, theirs = theirs
        guard dnnl_memory_desc_equal(&ours, &theirs) == 0 else { return nil }
        byteCount = max(64, dnnl_memory_desc_get_size(&theirs))
        storage = ownsStorage ? UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64) : nil
        memory = makeMemory(theirs, engine)
        if let storage { setHandle(memory, storage) }
        let intoTheirs = makeReorder(from: ours, to: theirs, engine)
        let intoOurs = makeReorder(from: theirs, to: ours, engine)
        forward = toTheirs ? intoTheirs : intoOurs
        backward = alsoBack ? (toTheirs ? intoOurs : intoTheirs) : nil
        if !alsoBack { dnnl_primitive_destroy(toTheirs ? intoOurs : intoTheirs) }
    }

    deinit {
        dnnl_primitive_destroy(forward)
        if let backward { dnnl_primitive_destroy(backward) }
        dnnl_memory_destroy(memory)
        storage?.deallocate()
    }

    /// Ours → theirs for an input stage.
    func reorder(from user: dnnl_memory_t, stream: dnnl_stream_t) { execute(forward!, from: user, to: memory, stream) }
    /// Theirs → ours for an output stage.
    func reorder(to user: dnnl_memory_t, stream: dnnl_stream_t) { execute(forward!, from: memory, to: user, stream) }
    /// Ours → theirs for an output stage that must start from the output's contents.
    func reorderBack(from user: dnnl_memory_t, stream: dnnl_stream_t) { execute(backward!, from: user, to: memory, stream) }

    private func execute(_ reorder: dnnl_primitive_t, from: dnnl_memory_t, to: dnnl_memory_t, _ stream: dnnl_stream_t) {
        let arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
        checkDNNL(dnnl_primitive_execute(reorder, stream, 2, arguments), "dnnl_primitive_execute (reorder)")
    }
}

// MARK: - Thin wrappers

/// An f32 memory descriptor. The corresponding C function is `dnnl_memory_desc_init_by_tag`.
private func memoryDescriptor(_ dims: [Int64], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    checkDNNL(dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), dims, dnnl_f32, tag),
              "dnnl_memory_desc_init_by_tag \(dims)")
    return descriptor
}

/// A memory object without a buffer yet. The corresponding C function is `dnnl_memory_create`.
private func makeMemory(_ descriptor: dnnl_memory_desc_t, _ engine: dnnl_engine_t) -> dnnl_memory_t {
    var descriptor = descriptor
    var memory: dnnl_memory_t?
    checkDNNL(dnnl_memory_create(&memory, &descriptor, engine, nil), "dnnl_memory_create")
    return memory!
}

/// Points `memory` at `pointer`. The corresponding C function is `dnnl_memory_set_data_handle`.
private func setHandle(_ memory: dnnl_memory_t, _ pointer: UnsafeRawPointer) {
    checkDNNL(dnnl_memory_set_data_handle(memory, UnsafeMutableRawPointer(mutating: pointer)), "dnnl_memory_set_data_handle")
}

/// A reorder primitive between two layouts of the same tensor.
/// The corresponding C function is `dnnl_reorder_primitive_desc_create`.
private func makeReorder(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t,
                         _ engine: dnnl_engine_t) -> dnnl_primitive_t {
    var source = source, destination = destination
    var descriptor: dnnl_primitive_desc_t?
    checkDNNL(dnnl_reorder_primitive_desc_create(&descriptor, &source, engine, &destination, engine, nil),
              "dnnl_reorder_primitive_desc_create")
    defer { dnnl_primitive_desc_destroy(descriptor) }
    var primitive: dnnl_primitive_t?
    checkDNNL(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create (reorder)")
    return primitive!
}
