import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The presets rebuild timgaripov/swa `models/` key for key (facts: swa-anchors.md §4).
@Suite struct PresetTests {
    @Test(arguments: [
        ("vgg16", 32, 0, 15_245_130),
        ("vgg16bn", 97, 13, 15_253_578),
        ("preresnet110", 659, 109, 1_146_842),
        ("preresnet164", 983, 163, 1_703_258),
        ("wrn28x10", 183, 25, 36_489_290),
    ])
    func keyCountsBatchNormLayersAndParameters(_ name: String, _ keys: Int, _ batchNormLayers: Int, _ parameters: Int) throws {
        let graph = try ArchitecturePreset(name: name).graph(classes: 10)
        #expect(graph.tensorKeys.count == keys)
        #expect(Set(graph.tensorKeys).count == keys)
        #expect(graph.batchNormNodes.count == batchNormLayers)
        #expect(parameterCount(graph) == parameters)
        #expect(graph.outputShape == [10])
    }

    @Test func hundredClassHeadsChangeOnlyTheClassifier() throws {
        #expect(parameterCount(try ArchitecturePreset(name: "vgg16").graph(classes: 100)) == 15_291_300)
        #expect(parameterCount(try ArchitecturePreset(name: "preresnet164").graph(classes: 100)) == 1_726_388)
        #expect(parameterCount(try ArchitecturePreset(name: "wrn28x10").graph(classes: 100)) == 36_546_980)
    }

    @Test func vgg16KeysAreThoseOfTheReferenceCode() throws {
        let convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
        let expected = convs.flatMap { ["features.\($0).weight", "features.\($0).bias"] }
            + [1, 4, 6].flatMap { ["classifier.\($0).weight", "classifier.\($0).bias"] }
        #expect(try ArchitecturePreset(name: "vgg16").graph(classes: 10).tensorKeys == expected)
    }

    @Test func vgg16bnPutsBatchNormAfterEveryConv() throws {
        let keys = try ArchitecturePreset(name: "vgg16bn").graph(classes: 10).tensorKeys
        let batchNorms = [1, 4, 8, 11, 15, 18, 21, 25, 28, 31, 35, 38, 41]
        for index in batchNorms {
            #expect(keys.contains("features.\(index).running_var"))
        }
        #expect(keys.prefix(7) == ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                    "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"])
    }

    @Test func preresnet164BlocksHaveTheReferenceShapes() throws {
        let graph = try ArchitecturePreset(name: "preresnet164").graph(classes: 10)
        let shapes = tensorShapes(graph)
        #expect(shapes["conv1.weight"] == [16, 3, 3, 3])
        #expect(shapes["layer1.0.bn1.running_mean"] == [16])
        #expect(shapes["layer1.0.conv3.weight"] == [64, 16, 1, 1])
        #expect(shapes["layer1.0.downsample.0.weight"] == [64, 16, 1, 1])
        #expect(shapes["layer2.0.downsample.0.weight"] == [128, 64, 1, 1])
        #expect(shapes["layer3.17.conv3.weight"] == [256, 64, 1, 1])
        #expect(shapes["bn.running_var"] == [256])
        #expect(shapes["fc.weight"] == [10, 256])
        #expect(shapes["layer1.1.downsample.0.weight"] == nil)
        // state_dict order: params and buffers of a block before its downsample, stages in order.
        let keys = graph.tensorKeys
        #expect(keys.first == "conv1.weight")
        #expect(Array(keys.suffix(2)) == ["fc.weight", "fc.bias"])
        #expect(keys.firstIndex(of: "layer1.0.conv3.weight")! < keys.firstIndex(of: "layer1.0.downsample.0.weight")!)
    }

    @Test func wideResNetConvsHaveBiasesAndShortcuts() throws {
        let shapes = tensorShapes(try ArchitecturePreset(name: "wrn28x10").graph(classes: 10))
        #expect(shapes["conv1.bias"] == [16])
        #expect(shapes["layer1.0.shortcut.0.weight"] == [160, 16, 1, 1])
        #expect(shapes["layer2.0.shortcut.0.weight"] == [320, 160, 1, 1])
        #expect(shapes["layer3.3.conv2.weight"] == [640, 640, 3, 3])
        #expect(shapes["layer1.1.shortcut.0.weight"] == nil)
        #expect(shapes["bn1.running_mean"] == [640])
        #expect(shapes["linear.weight"] == [10, 640])
    }

    @Test(arguments: ["preresnet20", "preresnet32", "preresnet56", "wrn16x4", "vgg19", "vgg19bn"])
    func otherDepthsBuild(_ name: String) throws {
        let graph = try ArchitecturePreset(name: name).graph(classes: 10)
        #expect(graph.outputShape == [10])
    }

    @Test(arguments: ["preresnet21", "preresnet50", "vgg13", "wrn27x10", "resnet50", "wrn28"])
    func invalidNamesAreRefusedWithAReason(_ name: String) {
        #expect(throws: SWAError.self) { try ArchitecturePreset(name: name) }
    }

    // MARK: - Helpers

    private func tensorShapes(_ graph: ModelGraph) -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        for node in graph.nodes {
            for role in node.operation.tensorRoles() {
                if let key = node.tensors[role.role] { shapes[key] = role.shape }
            }
        }
        return shapes
    }

    /// Learnable parameters: weights and biases, not BN running statistics or counters.
    private func parameterCount(_ graph: ModelGraph) -> Int {
        graph.nodes.flatMap { $0.operation.tensorRoles() }
            .filter { ["weight", "bias"].contains($0.role) }
            .reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}
