import SWAFormats
/// VGG of timgaripov/swa `models/vgg.py`: `features` (3x3 convs with bias, optional BN, ReLU,
/// 2x2 max pools) then `classifier` Dropout, Linear(512, 512), ReLU, Dropout, Linear(512, 512),
/// ReLU, Linear(512, classes).
enum VGGPreset {
    /// Channel counts per conv; 0 is a max pool.
    static let layouts: [Int: [Int]] = [
        16: [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        19: [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    ]

    static func graph(depth: Int, batchNorm: Bool, classes: Int, inputShape: [Int]) throws -> ModelGraph {
        var builder = GraphBuilder()
        var last = "x"
        var channels = inputShape.first ?? 3
        var index = 0
        func next() -> String {
            defer { index += 1 }
            return "features.\(index)"
        }
        for width in layouts[depth]! {
            if width == 0 {
                last = builder.op(next(), .maxPool2d(GraphBuilder.window(2)), last)
                continue
            }
            last = builder.conv(next(), last, channels, width, kernel: 3, padding: 1, bias: true)
            if batchNorm { last = builder.batchNorm(next(), last, width) }
            last = builder.op(next(), .relu, last)
            channels = width
        }
        last = builder.op("flatten", .flatten, last)
        last = builder.op("classifier.0", .dropout(p: 0.5), last)
        last = builder.linear("classifier.1", last, 512, 512)
        last = builder.op("classifier.2", .relu, last)
        last = builder.op("classifier.3", .dropout(p: 0.5), last)
        last = builder.linear("classifier.4", last, 512, 512)
        last = builder.op("classifier.5", .relu, last)
        last = builder.linear("classifier.6", last, 512, classes)
        return try ModelGraph(inputShape: inputShape, nodes: builder.nodes, outputName: last)
    }
}
