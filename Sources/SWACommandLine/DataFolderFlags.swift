import ArgumentParser
import SWAData
import SWAKit

/// How to read data folders (CIFAR as distributed, ImageFolder trees) and the named presets,
/// shared by swa-bn-update, swa-eval and swa-landscape (docs/DATA.md).
public struct DataFolderFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Preprocessing preset: cifar10, cifar100 (the paper code's normalisation), imagenet (Resize 256, CenterCrop 224, ImageNet mean/std) or imagenet-train (RandomResizedCrop 224, flip). --mean/--std, --resize and --crop override its parts.", valueName: "name"))
    public var preprocess: DataPreset?

    @Option(help: ArgumentHelp("Split of a CIFAR folder (default: train for the BN update and --train, test for evaluation and --test).", valueName: "split"))
    public var split: DataSplit?

    @Option(help: ArgumentHelp("CIFAR-100 labels: fine (100 classes) or coarse (20 superclasses).", valueName: "kind"))
    public var label: CIFARLabelKind = .fine

    @Option(help: ArgumentHelp("Image folders: resize so that the shorter side is N pixels (bilinear with antialiasing, as PIL).", valueName: "N"))
    public var resize: Int?

    @Option(help: ArgumentHelp("Image folders: take the central N×N square (after --resize).", valueName: "N"))
    public var crop: Int?

    @Flag(help: "Image folders: leave out images whose header does not decode, and say how many, instead of failing.")
    public var skipBad = false

    public init() {}

    public func validate() throws {
        if let resize, resize < 1 { throw ValidationError("--resize must be at least 1 pixel, got \(resize)") }
        if let crop, crop < 1 { throw ValidationError("--crop must be at least 1 pixel, got \(crop)") }
    }

    /// The folder options these flags describe, `defaultSplit` when `--split` is not given.
    public func options(defaultSplit: DataSplit) -> DataFolderOptions {
        var pipeline = preprocess?.imagePipeline ?? ImagePipeline()
        if resize != nil || crop != nil {
            pipeline.randomResizedCrop = nil
            pipeline.resize = resize ?? (preprocess == .imagenetTrain ? nil : pipeline.resize)
            pipeline.centerCrop = crop ?? pipeline.centerCrop
        }
        return DataFolderOptions(split: split ?? defaultSplit, labelKind: label, imagePipeline: pipeline, skipBad: skipBad)
    }

    /// `request` with these flags' folder options and preset.
    public func applied(to request: DataRequest, defaultSplit: DataSplit) -> DataRequest {
        var request = request
        request.folder = options(defaultSplit: defaultSplit)
        request.preset = preprocess
        return request
    }
}

extension DataPreset: ExpressibleByArgument {}
extension DataSplit: ExpressibleByArgument {}
extension CIFARLabelKind: ExpressibleByArgument {}
