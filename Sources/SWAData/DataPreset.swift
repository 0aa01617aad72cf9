/// Named preprocessing of the data sets the paper used, as their usual PyTorch pipelines do it
/// (`--preprocess NAME`): the normalisation and, for image folders, the transforms.
public enum DataPreset: String, Sendable, CaseIterable {
    /// The paper code's CIFAR normalisation (timgaripov/swa, PreResNet and WideResNet); its
    /// training transform is `--augment crop:4,flip` (RandomCrop(32, padding 4), RandomHorizontalFlip).
    case cifar10
    /// The same constants for CIFAR-100, as the paper's code uses them.
    case cifar100
    /// torchvision's ImageNet evaluation: Resize 256, CenterCrop 224, ImageNet mean and std.
    case imagenet
    /// torchvision's ImageNet training: RandomResizedCrop 224 and a random flip, ImageNet mean and std.
    case imagenetTrain = "imagenet-train"

    /// Per-channel mean, RGB, of values scaled to [0, 1].
    public var mean: [Double] {
        switch self {
        case .cifar10, .cifar100: [0.4914, 0.4822, 0.4465]
        case .imagenet, .imagenetTrain: [0.485, 0.456, 0.406]
        }
    }

    /// Per-channel standard deviation, RGB.
    public var std: [Double] {
        switch self {
        case .cifar10, .cifar100: [0.2023, 0.1994, 0.2010]
        case .imagenet, .imagenetTrain: [0.229, 0.224, 0.225]
        }
    }

    /// The transforms an image folder gets (CIFAR images are 32×32 already: none).
    public var imagePipeline: ImagePipeline {
        switch self {
        case .cifar10, .cifar100: ImagePipeline()
        case .imagenet: .imagenet
        case .imagenetTrain: .imagenetTrain
        }
    }
}
