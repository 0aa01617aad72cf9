import SWAFormats
/// The models of the paper's reference code (timgaripov/swa `models/`), rebuilt with exactly
/// its state_dict key names, so its checkpoints bind without renaming (`--arch`).
public enum ArchitecturePreset: Sendable, Equatable {
    /// `VGG16`, `VGG16BN`, `VGG19`, `VGG19BN` (`models/vgg.py`).
    case vgg(depth: Int, batchNorm: Bool)
    /// `PreResNet` of any valid depth (`models/preresnet.py`): BasicBlock below 44, Bottleneck from 44.
    case preResNet(depth: Int)
    /// `WideResNet` depth × widen factor (`models/wide_resnet.py`), e.g. 28x10.
    case wideResNet(depth: Int, widen: Int)

    /// Parses `vgg16`, `vgg16bn`, `vgg19`, `vgg19bn`, `preresnetN`, `wrnDxK`.
    public init(name: String) throws {
        let lowered = name.lowercased()
        func number(after prefix: String) -> Int? { Int(lowered.dropFirst(prefix.count)) }
        if lowered.hasPrefix("vgg") {
            let batchNorm = lowered.hasSuffix("bn")
            let depth = Int(lowered.dropFirst(3).dropLast(batchNorm ? 2 : 0))
            guard let depth, VGGPreset.layouts[depth] != nil else {
                throw SWAError("--arch \(name): VGG depth must be 16 or 19 (vgg16, vgg16bn, vgg19, vgg19bn)")
            }
            self = .vgg(depth: depth, batchNorm: batchNorm)
        } else if lowered.hasPrefix("preresnet"), let depth = number(after: "preresnet") {
            guard depth >= 44 ? (depth - 2) % 9 == 0 : (depth >= 8 && (depth - 2) % 6 == 0) else {
                throw SWAError("--arch \(name): PreResNet depth must be 6n+2 below 44 (20, 32, 38) or 9n+2 from 44 (47, 56, 110, 164, ...)")
            }
            self = .preResNet(depth: depth)
        } else if lowered.hasPrefix("wrn") {
            let parts = lowered.dropFirst(3).split(separator: "x")
            guard parts.count == 2, let depth = Int(parts[0]), let widen = Int(parts[1]), depth >= 10, (depth - 4) % 6 == 0, widen >= 1 else {
                throw SWAError("--arch \(name): WideResNet is wrnDxK with D = 6n+4 (e.g. wrn28x10, wrn16x4)")
            }
            self = .wideResNet(depth: depth, widen: widen)
        } else {
            throw SWAError("--arch \(name): unknown architecture (known: vgg16 vgg16bn vgg19 vgg19bn preresnetN wrnDxK)")
        }
    }

    /// The checkpoint key of the classifier's weight, whose first dimension is the class count.
    public var classifierWeightKey: String {
        switch self {
        case .vgg: "classifier.6.weight"
        case .preResNet: "fc.weight"
        case .wideResNet: "linear.weight"
        }
    }

    /// The graph for `classes` output classes on `inputShape` images (CIFAR: `[3, 32, 32]`).
    public func graph(classes: Int, inputShape: [Int] = [3, 32, 32]) throws -> ModelGraph {
        switch self {
        case let .vgg(depth, batchNorm): try VGGPreset.graph(depth: depth, batchNorm: batchNorm, classes: classes, inputShape: inputShape)
        case let .preResNet(depth): try PreResNetPreset.graph(depth: depth, classes: classes, inputShape: inputShape)
        case let .wideResNet(depth, widen): try WideResNetPreset.graph(depth: depth, widen: widen, classes: classes, inputShape: inputShape)
        }
    }
}
