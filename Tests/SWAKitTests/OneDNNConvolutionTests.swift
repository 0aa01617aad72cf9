import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// oneDNN's convolutions (`OneDNNConvolution`) against the naive oracle on the odd shapes the
/// im2col kernel is tested on, in both layouts and with the fused post-ops; bit-identical
/// results whatever oneDNN's thread count; the forward pass on oneDNN against the PyTorch
/// goldens; and the `SWA_CONV_BACKEND` policy.
@Suite("oneDNN convolutions")
struct OneDNNConvolutionTests {
    init() { BLASRuntime.configureForKernels() }

    @Test("oneDNN is available and names its version and ISA")
    func reportsItself() {
        #expect(OneDNN.isAvailable)
        #expect(OneDNN.version.hasPrefix("oneDNN 2."))
        #expect(OneDNN.version.hasSuffix("(OpenMP)"))
        // Every x86-64 CPU this runs on has at least SSE4.1; the name is oneDNN's, not a number.
        #expect(!OneDNN.isa.hasPrefix("isa 0x"), "\(OneDNN.isa)")
    }

    @Test("matches the naive convolution in both layouts", arguments: ConvCase.all)
    func matchesReference(_ c: ConvCase) throws {
        let (input, weight, bias) = data(for: c, seed: 0xD1_11)
        let expected = ReferenceKernels.conv2d(input, batch: c.batch, height: c.height, width: c.width,
                                               geometry: c.geometry, weight: weight, bias: bias)
        for layout in OneDNNConvolution.Layout.allCases {
            let primitive = try #require(OneDNNConvolution(geometry: c.geometry, batch: c.batch, height: c.height, width: c.width,
                                                           hasBias: bias != nil, layout: layout), "\(c.name) \(layout)")
            let actual = run(primitive, input, weight, bias, output: [Float](repeating: .nan, count: expected.count))
            #expect(maxError(actual, expected) <= 1e-5, "\(c.name), \(layout) (\(primitive.implementation))")
        }
    }

    @Test("fuses the residual add and the ReLU as post-ops", arguments: OneDNNConvolution.Layout.allCases)
    func fusedPostOps(_ layout: OneDNNConvolution.Layout) throws {
        let c = ConvCase.parallel
        let (input, weight, bias) = data(for: c, seed: 5)
        let plain = ReferenceKernels.conv2d(input, batch: c.batch, height: c.height, width: c.width, geometry: c.geometry,
                                            weight: weight, bias: bias)
        var generator = SeededGenerator(seed: 6)
        let shortcut = (0 ..< plain.count).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let primitive = try #require(OneDNNConvolution(geometry: c.geometry, batch: c.batch, height: c.height, width: c.width,
                                                       hasBias: true, layout: layout, accumulatesIntoOutput: true, relu: true))
        let actual = run(primitive, input, weight, bias, output: shortcut)
        let expected = zip(plain, shortcut).map { max($0 + $1, 0) }
        #expect(maxError(actual, expected) <= 1e-5)
        #expect(actual.contains(0) && actual.contains { $0 > 0.5 }, "the ReLU clamps some values and not others")
    }

    /// The blocked layout (oneDNN's direct JIT kernels, the one the forward pass uses) gives the
    /// same bits with 1 to 4 threads. The plain layout (oneDNN's gemm-based convolution) does
    /// not: with 3 or 4 threads some values change in the last bits (measured on AVX2, oneDNN
    /// 2.6.3), so it is only checked to stay within rounding (1e-4 relative to max(1, |x|), sums of up
    /// to 1440 products), and no policy uses it.
    @Test("blocked: identical bits whatever oneDNN's thread count; plain: within rounding",
          arguments: OneDNNConvolution.Layout.allCases)
    func threadCountDoesNotChangeResults(_ layout: OneDNNConvolution.Layout) throws {
        // Shapes of the presets (small batch): 3×3 at 32×32, stride 2, 1×1, wide 3×3 at 8×8.
        let cases = [
            ConvCase("16->16 3x3 32x32", batch: 6, height: 32, width: 32,
                     .init(inChannels: 16, outChannels: 16, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1), bias: false),
            ConvCase("32->64 3x3 s2 16x16", batch: 5, height: 16, width: 16,
                     .init(inChannels: 32, outChannels: 64, kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2,
                           paddingY: 1, paddingX: 1), bias: true),
            ConvCase("64->256 1x1 8x8", batch: 7, height: 8, width: 8,
                     .init(inChannels: 64, outChannels: 256, kernelHeight: 1, kernelWidth: 1), bias: false),
            ConvCase("160->160 3x3 8x8", batch: 3, height: 8, width: 8,
                     .init(inChannels: 160, outChannels: 160, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1), bias: false),
        ]
        let threadsBefore = OneDNN.maximumThreads
        defer { OneDNN.setMaximumThreads(threadsBefore) }
        for c in cases {
            let (input, weight, bias) = data(for: c, seed: 9)
            var results: [Int: [Float]] = [:]
            for threads in [1, 2, 3, 4] {
                OneDNN.setMaximumThreads(threads)  // before the primitive: it splits its work when created
                let primitive = try #require(OneDNNConvolution(geometry: c.geometry, batch: c.batch, height: c.height, width: c.width,
                                                               hasBias: bias != nil, layout: layout))
                let size = c.geometry.outputSize(height: c.height, width: c.width)
                results[threads] = run(primitive, input, weight, bias,
                                       output: [Float](repeating: .nan, count: c.batch * c.geometry.outChannels * size.height * size.width))
            }
            for threads in [2, 3, 4] {
                let differing = zip(results[threads]!, results[1]!).filter { $0.bitPattern != $1.bitPattern }.count
                switch layout {
                case .blocked: #expect(differing == 0, "\(c.name): \(differing) values differ with \(threads) threads")
                case .plain: #expect(maxError(results[threads]!, results[1]!) <= 1e-4, "\(c.name): \(threads) threads")
                }
            }
        }
    }

    @Test("the forward pass on oneDNN matches PyTorch's logits on the fixture model and the families")
    func forwardPassMatchesGoldens() throws {
        // The fixture run's SWA model after the BN pass (BatchNormUpdateTests does it on the default backend).
        try TestSupport.withTemporaryDirectory { folder in
            let (parameters, data) = try TestSupport.averagedFixtureModel(in: folder)
            let result = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: 64)
            let model = try result.applied(to: parameters)
            let pass = ForwardPass(parameters: model, convolutionPolicy: .dnnl)
            #expect(pass.convolutionBackends.values.allSatisfy { $0 == .oneDNN(.blocked) } && !pass.convolutionBackends.isEmpty)
            let averaged = try LoadedCheckpoint(path: folder + "/swa.bin")
            let test = try DataSet(path: TestSupport.fixtures + "/data/test.npz",
                                   preprocessing: try Preprocessing.parse(metadataJSON: averaged.header.metadata["swa.preprocess"]!), limit: 16)
            var logits: [Float] = []
            try test.forEachBatch(size: 16) { batch in logits = pass.run(batch.x, batch: batch.count, mode: .inference) }
            let expected = try #require(try LoadedCheckpoint(path: TestSupport.golden + "/logits.safetensors").floats("logits"))
            #expect(TestSupport.allClose(logits.map(Double.init), expected.map(Double.init), rtol: 1e-4, atol: 1e-4))
        }
        // The families: BN pass in training mode and inference, both on oneDNN, against PyTorch.
        for family in FamilyFixtureTests.families {
            let folder = FamilyFixtureTests.folder
            let checkpoint = try LoadedCheckpoint(path: "\(folder)/\(family).safetensors.zst")
            let parameters = try ModelParameters(graph: try ModelSource.metadata.graph(for: checkpoint), checkpoint: checkpoint)
            let golden = try LoadedCheckpoint(path: "\(folder)/\(family)-golden.safetensors")
            let data = try DataSet(path: "\(folder)/data.npz", preprocessing: nil)
            let result = try BatchNormUpdate(parameters: parameters, weighting: .batch, convolutionPolicy: .dnnl).run(data: data, batchSize: 5)
            for key in result.statistics.keys.sorted() {
                let expected = try #require(golden.floats(key)).map(Double.init)
                let scale = expected.map(abs).max() ?? 1
                #expect(TestSupport.allClose(result.statistics[key]!.map(Double.init), expected, rtol: 1e-4, atol: 1e-4 * scale),
                        "\(family): \(key)")
            }
            let pass = ForwardPass(parameters: try result.applied(to: parameters), convolutionPolicy: .dnnl)
            var logits: [Float] = []
            try data.forEachBatch(size: 12) { batch in logits = pass.run(batch.x, batch: batch.count, mode: .inference) }
            let expected = try #require(golden.floats("logits"))
            #expect(TestSupport.allClose(logits.map(Double.init), expected.map(Double.init), rtol: 0, atol: 1e-4), "\(family): logits")
        }
    }

    @Test("SWA_CONV_BACKEND picks the policy; anything else is an error naming it")
    func policyFromEnvironment() throws {
        #expect(try ConvolutionBackendPolicy(environmentValue: nil) == .auto)
        #expect(try ConvolutionBackendPolicy(environmentValue: "") == .auto)
        #expect(try ConvolutionBackendPolicy(environmentValue: "blas") == .blas)
        #expect(try ConvolutionBackendPolicy(environmentValue: "DNNL") == .dnnl)
        #expect(try ConvolutionBackendPolicy(environmentValue: "onednn") == .dnnl)
        #expect(throws: SWAError.self) { try ConvolutionBackendPolicy(environmentValue: "mkl") }
        do {
            _ = try ConvolutionBackendPolicy(environmentValue: "mkl")
        } catch let error as SWAError {
            #expect(error.message.contains("SWA_CONV_BACKEND=mkl") && error.message.contains("auto, blas or dnnl"))
        }
        let g = Conv2dGeometry(inChannels: 16, outChannels: 16, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1)
        #expect(ConvolutionBackendPolicy.blas.backend(for: g, height: 32, width: 32) == .blas)
        #expect(ConvolutionBackendPolicy.dnnl.backend(for: g, height: 32, width: 32) == .oneDNN(.blocked))
    }

    @Test("auto: oneDNN for the spatial kernels on AVX-512, im2col + sgemm for 1×1 and everywhere on AVX2")
    func autoRule() throws {
        func conv(_ i: Int, _ o: Int, _ k: Int, stride: Int = 1, groups: Int = 1) -> Conv2dGeometry {
            Conv2dGeometry(inChannels: i, outChannels: o, kernelHeight: k, kernelWidth: k, strideY: stride, strideX: stride,
                           paddingY: k / 2, paddingX: k / 2, groups: groups)
        }
        let rule = ConvolutionBackendPolicy.prefersOneDNN
        for isa in ["avx2", "avx2_vnni", "avx", "sse41"] {
            #expect(!rule(conv(64, 64, 3), 32, 32, isa), "\(isa)")
            #expect(!rule(conv(160, 160, 3), 32, 32, isa), "\(isa)")
            #expect(!rule(conv(64, 256, 1), 32, 32, isa), "\(isa)")
        }
        for isa in ["avx512_core", "avx512_core_vnni", "avx512_core_bf16", "avx512_core_amx"] {
            #expect(rule(conv(64, 64, 3), 32, 32, isa), "\(isa)")
            #expect(rule(conv(160, 320, 3, stride: 2), 32, 32, isa), "\(isa)")
            #expect(rule(conv(3, 8, 7, stride: 2), 40, 40, isa), "\(isa): a 7×7 stem")
            #expect(rule(conv(48, 48, 5, groups: 48), 10, 10, isa), "\(isa): a 5×5 depthwise layer")
            #expect(!rule(conv(64, 256, 1), 32, 32, isa), "\(isa): 1×1 stays on sgemm")
            #expect(!rule(conv(320, 640, 1, stride: 2), 16, 16, isa), "\(isa): 1×1 stays on sgemm")
        }
        // Every preset's layers under auto (on this machine's ISA), blas and dnnl.
        for preset in ["vgg16bn", "wrn28x10", "preresnet164"] {
            let graph = try ArchitecturePreset(name: preset).graph(classes: 10)
            let backends = ConvolutionLayers(graph: graph, policy: .auto).backends
            for (index, backend) in backends {
                guard case let .conv2d(geometry, _) = graph.nodes[index].operation else { continue }
                let plane = graph.shapes[graph.nodes[index].inputs[0]]!
                let expected: ConvolutionBackend = rule(geometry, plane[1], plane[2], OneDNN.isa) ? .oneDNN(.blocked) : .blas
                #expect(backend == expected, "\(preset) \(graph.nodes[index].name) on \(OneDNN.isa)")
            }
            #expect(!ConvolutionLayers(graph: graph, policy: .blas).usesOneDNN)
            #expect(ConvolutionLayers(graph: graph, policy: .dnnl).backends.values.allSatisfy { $0 == .oneDNN(.blocked) })
        }
    }

    // MARK: - Helpers

    private func data(for c: ConvCase, seed: UInt64) -> (input: [Float], weight: [Float], bias: [Float]?) {
        var generator = SeededGenerator(seed: seed)
        let g = c.geometry
        let input = (0 ..< c.batch * g.inChannels * c.height * c.width).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let weight = (0 ..< g.outChannels * g.inChannels / g.groups * g.kernelHeight * g.kernelWidth)
            .map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let bias = c.bias ? (0 ..< g.outChannels).map { _ in Float.random(in: -1 ..< 1, using: &generator) } : nil
        return (input, weight, bias)
    }

    private func run(_ primitive: OneDNNConvolution, _ input: [Float], _ weight: [Float], _ bias: [Float]?, output: [Float]) -> [Float] {
        var output = output
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                output.withUnsafeMutableBufferPointer { y in
                    if let bias {
                        bias.withUnsafeBufferPointer { b in primitive.run(x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!, output: y.baseAddress!) }
                    } else {
                        primitive.run(x.baseAddress!, weight: w.baseAddress!, bias: nil, output: y.baseAddress!)
                    }
                }
            }
        }
        return output
    }

    /// The largest |a − b| relative to max(1, |b|); NaN (an element never written) counts as infinite.
    private func maxError(_ actual: [Float], _ expected: [Float]) -> Float {
        guard actual.count == expected.count else { return .infinity }
        return zip(actual, expected).map { a, b in a.isNaN ? .infinity : abs(a - b) / max(1, abs(b)) }.max() ?? 0
    }
}
