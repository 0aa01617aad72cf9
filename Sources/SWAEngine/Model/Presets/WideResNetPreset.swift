import SWAFormats
/// WideResNet of timgaripov/swa `models/wide_resnet.py`: conv1 (3→16, with bias), three
/// stages of n = (depth−4)/6 WideBasic blocks of 16k, 32k, 64k channels (stride on the
/// block's second conv; 1x1 `shortcut.0` conv with bias where shape changes), then bn1
/// (momentum 0.9), ReLU, AvgPool2d(8), linear. Every conv has a bias; dropout is identity.
enum WideResNetPreset {
    static func graph(depth: Int, widen: Int, classes: Int, inputShape: [Int]) throws -> ModelGraph {
        let blocks = (depth - 4) / 6
        var builder = GraphBuilder()
        var last = builder.conv("conv1", "x", inputShape.first ?? 3, 16, kernel: 3, padding: 1, bias: true)
        var inPlanes = 16
        for (stage, planes) in [16 * widen, 32 * widen, 64 * widen].enumerated() {
            for index in 0..<blocks {
                let name = "layer\(stage + 1).\(index)"
                let stride = index == 0 && stage > 0 ? 2 : 1
                let blockInput = last
                var out = builder.batchNorm(name + ".bn1", blockInput, inPlanes)
                out = builder.op(name + ".relu1", .relu, out)
                out = builder.conv(name + ".conv1", out, inPlanes, planes, kernel: 3, padding: 1, bias: true)
                out = builder.op(name + ".dropout", .dropout(p: 0), out)
                out = builder.batchNorm(name + ".bn2", out, planes)
                out = builder.op(name + ".relu2", .relu, out)
                out = builder.conv(name + ".conv2", out, planes, planes, kernel: 3, stride: stride, padding: 1, bias: true)
                var residual = blockInput
                if stride != 1 || inPlanes != planes {
                    residual = builder.conv(name + ".shortcut.0", blockInput, inPlanes, planes, kernel: 1, stride: stride, bias: true)
                }
                last = builder.op(name + ".add", .add, out, residual)
                inPlanes = planes
            }
        }
        last = builder.batchNorm("bn1", last, inPlanes, momentum: 0.9)
        last = builder.op("relu", .relu, last)
        last = builder.op("avgpool", .avgPool2d(GraphBuilder.window(8)), last)
        last = builder.op("flatten", .flatten, last)
        last = builder.linear("linear", last, inPlanes, classes)
        return try ModelGraph(inputShape: inputShape, nodes: builder.nodes, outputName: last)
    }
}
