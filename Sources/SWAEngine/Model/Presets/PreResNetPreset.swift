import SWAFormats
/// PreResNet of timgaripov/swa `models/preresnet.py` (pre-activation ResNet for CIFAR):
/// conv1 (3→16), three stages of n blocks (16, 32, 64 planes; stride 2 entering stages 2
/// and 3), then bn, ReLU, AvgPool2d(8), fc. BasicBlock (n = (depth−2)/6) below depth 44,
/// Bottleneck (n = (depth−2)/9, expansion 4) from 44. The residual of a block's first
/// layer goes through `downsample.0`, a 1x1 conv without bias, applied to the block input.
enum PreResNetPreset {
    static func graph(depth: Int, classes: Int, inputShape: [Int]) throws -> ModelGraph {
        let bottleneck = depth >= 44
        let blocks = bottleneck ? (depth - 2) / 9 : (depth - 2) / 6
        let expansion = bottleneck ? 4 : 1
        var builder = GraphBuilder()
        var last = builder.conv("conv1", "x", inputShape.first ?? 3, 16, kernel: 3, padding: 1, bias: false)
        var inPlanes = 16
        for (stage, planes) in [16, 32, 64].enumerated() {
            for index in 0..<blocks {
                let name = "layer\(stage + 1).\(index)"
                let stride = index == 0 && stage > 0 ? 2 : 1
                let blockInput = last
                var out = builder.batchNorm(name + ".bn1", blockInput, inPlanes)
                out = builder.op(name + ".relu1", .relu, out)
                if bottleneck {
                    out = builder.conv(name + ".conv1", out, inPlanes, planes, kernel: 1, bias: false)
                    out = builder.batchNorm(name + ".bn2", out, planes)
                    out = builder.op(name + ".relu2", .relu, out)
                    out = builder.conv(name + ".conv2", out, planes, planes, kernel: 3, stride: stride, padding: 1, bias: false)
                    out = builder.batchNorm(name + ".bn3", out, planes)
                    out = builder.op(name + ".relu3", .relu, out)
                    out = builder.conv(name + ".conv3", out, planes, planes * 4, kernel: 1, bias: false)
                } else {
                    out = builder.conv(name + ".conv1", out, inPlanes, planes, kernel: 3, stride: stride, padding: 1, bias: false)
                    out = builder.batchNorm(name + ".bn2", out, planes)
                    out = builder.op(name + ".relu2", .relu, out)
                    out = builder.conv(name + ".conv2", out, planes, planes, kernel: 3, padding: 1, bias: false)
                }
                var residual = blockInput
                if index == 0, stride != 1 || inPlanes != planes * expansion {
                    residual = builder.conv(name + ".downsample.0", blockInput, inPlanes, planes * expansion, kernel: 1, stride: stride, bias: false)
                }
                last = builder.op(name + ".add", .add, out, residual)
                inPlanes = planes * expansion
            }
        }
        last = builder.batchNorm("bn", last, inPlanes)
        last = builder.op("relu", .relu, last)
        last = builder.op("avgpool", .avgPool2d(GraphBuilder.window(8)), last)
        last = builder.op("flatten", .flatten, last)
        last = builder.linear("fc", last, inPlanes, classes)
        return try ModelGraph(inputShape: inputShape, nodes: builder.nodes, outputName: last)
    }
}
