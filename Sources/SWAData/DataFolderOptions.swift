/// How to read a data folder (`--split`, `--label`, the image transforms, `--skip-bad`); files
/// (`.npz`, checkpoint format) ignore it.
public struct DataFolderOptions: Sendable, Equatable {
    /// Which split of a CIFAR folder to read.
    public var split: DataSplit
    /// CIFAR-100's fine or coarse labels.
    public var labelKind: CIFARLabelKind
    /// What is done to each image of an image folder before scaling and normalisation.
    public var imagePipeline: ImagePipeline
    /// Leave out images of an image folder whose header does not decode, instead of failing.
    public var skipBad: Bool

    public init(split: DataSplit = .train, labelKind: CIFARLabelKind = .fine, imagePipeline: ImagePipeline = ImagePipeline(),
                skipBad: Bool = false) {
        self.split = split
        self.labelKind = labelKind
        self.imagePipeline = imagePipeline
        self.skipBad = skipBad
    }
}
