import Foundation
import SWAEngine
import SWAFormats

/// Everything `swa-convert` needs: one checkpoint in any supported format, where to write it
/// and in which layout (its name decides: `OutputLayout`), and what to attach.
public struct ConversionRequest: Sendable {
    /// The checkpoint: a file, a model folder or a sharded index (`TensorArchives.open`).
    public var input: String
    /// `NAME.safetensors`, `FOLDER/` or any other name (our zstd format).
    public var destination: String
    /// Replace an existing output (`--force`).
    public var overwrite: Bool
    /// The dtype of float tensors in the output (`--dtype`); `.keep` copies every byte.
    public var outputDType: OutputDType
    /// `--arch` / `--graph`: a graph to check against the tensors and record as `swa.graph`;
    /// `.metadata` attaches nothing (the input's own `swa.graph`, if any, is carried through).
    public var model: ModelSource
    /// `--preprocess`: recorded as `swa.preprocess` when set.
    public var preprocessing: Preprocessing?
    /// Shard size and side files of a folder output; side files default to the input's folder.
    public var outputOptions: OutputOptions
    /// Which state dict of a PyTorch input and what to strip from its names (`--key`, `--strip-prefix`).
    public var archiveOptions: ArchiveOptions = .none

    public init(input: String, destination: String, overwrite: Bool = false, outputDType: OutputDType = .keep,
                model: ModelSource = .metadata, preprocessing: Preprocessing? = nil, outputOptions: OutputOptions = OutputOptions()) {
        self.input = input
        self.destination = destination
        self.overwrite = overwrite
        self.outputDType = outputDType
        self.model = model
        self.preprocessing = preprocessing
        self.outputOptions = outputOptions
    }
}

/// What `swa-convert` did; printed by `--json` (snake_case keys).
public struct ConversionReport: Codable, Sendable {
    /// The input as given, and its format (`FileFormat.description`).
    public var input: String
    public var inputFormat: String
    /// The output path and its layout: `zstd`, `safetensors` or `huggingface-folder`.
    public var output: String
    public var outputLayout: String
    /// Tensors and elements converted.
    public var tensors: Int
    public var elements: Int
    /// Bytes written (all files of a folder) and zstd frames (0 for plain outputs).
    public var outputBytes: Int
    public var frames: Int
    /// The graph recorded as `swa.graph` (`ModelSource.description`), if one was attached.
    public var graph: String?
    /// Whether `swa.preprocess` was attached.
    public var preprocess: Bool
    /// Wall-clock time, in seconds.
    public var seconds: Double
}

/// Converts one checkpoint between formats, streaming tensor by tensor: memory is one tensor
/// chunk whatever the model size (except with a graph to check, which binds the whole model).
///
/// Float tensors holding NaN or Inf are refused, naming the tensor and the first element.
/// Tensors keep the input's order and bytes (`--dtype keep`): a round trip between our format,
/// plain safetensors and a Hugging Face folder is exact, bit for bit. Metadata is carried
/// through (the input's `swa.*` keys and unknown keys; a model folder's `trainer_state.json`
/// step as `swa.step`), with `swa.graph` and `swa.preprocess` set when asked.
public enum ConversionJob {
    /// Elements converted per piece when `--dtype` changes a tensor's type.
    static let chunkElements = 1 << 18

    /// Runs the conversion; nothing appears at the destination unless it succeeds.
    /// - Parameter onBytes: called with the input bytes read so far (progress).
    /// - Throws: naming the file and tensor at fault; a graph that does not bind names the key.
    public static func run(_ request: ConversionRequest, onBytes: (Int) -> Void = { _ in }) throws -> ConversionReport {
        let started = Date()
        let counter = ByteCounter()
        let archive = try TensorArchives.open(path: request.input, options: request.archiveOptions) { counter.add($0.count) }
        var metadata = archive.header.checkpointMetadata
        var graphDescription: String?
        if request.model != .metadata {
            // Binding needs the values (ModelParameters checks keys, shapes and dtypes): only for
            // the small networks the engine runs, which a graph describes.
            let loaded = try LoadedCheckpoint(path: request.input, options: request.archiveOptions)
            let graph = try request.model.graph(for: loaded)
            _ = try ModelParameters(graph: graph, checkpoint: loaded)
            metadata.graphJSON = graph.json
            graphDescription = request.model.description
        }
        if let preprocessing = request.preprocessing { metadata.setPreprocessing(preprocessing) }
        var options = request.outputOptions
        if options.sideFilesFrom == nil { options.sideFilesFrom = ModelFolder.folder(holding: request.input) }
        let tensors = archive.header.tensors
        let specs = tensors.map { TensorSpec(name: $0.name, dtype: request.outputDType.resolve($0.dtype), shape: $0.shape) }
        let output = try makeCheckpointOutput(destination: request.destination, tensors: specs, overwrite: request.overwrite, options: options)
        do {
            let stream = try archive.openDataStream()
            try copyTensors(tensors, specs: specs, from: stream, to: output, onPiece: { onBytes(counter.value) })
            try stream.finish()
            let (bytes, frames) = try output.finish(metadata: metadata.values)
            let layout = switch OutputLayout(destination: request.destination) {
            case .zstd: "zstd"
            case .safetensors: "safetensors"
            case .huggingFaceFolder: "huggingface-folder"
            }
            return ConversionReport(
                input: request.input, inputFormat: archive.format.description, output: request.destination, outputLayout: layout,
                tensors: tensors.count, elements: tensors.reduce(0) { $0 + $1.elementCount }, outputBytes: bytes, frames: frames,
                graph: graphDescription, preprocess: request.preprocessing != nil, seconds: Date().timeIntervalSince(started))
        } catch {
            output.discard()
            throw error
        }
    }

    /// Streams every tensor from `stream` to `output`, in pieces; float tensors whose dtype
    /// changes go through Float64 and are rounded once (`encodeAverage` with divisor 1).
    private static func copyTensors(_ tensors: [TensorInfo], specs: [TensorSpec], from stream: any TensorDataStream,
                                    to output: any CheckpointOutput, onPiece: () -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * 8, alignment: 64)
        let converted = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * 8, alignment: 64)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: chunkElements)
        defer {
            buffer.deallocate()
            converted.deallocate()
            sums.deallocate()
        }
        for (tensor, spec) in zip(tensors, specs) {
            var done = 0
            while done < tensor.elementCount {
                let elements = min(chunkElements, tensor.elementCount - done)
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[..<(elements * tensor.dtype.byteSize)])
                try stream.readData(into: piece)
                // A NaN or Inf weight is carried nowhere silently (docs/RELIABILITY.md): refused,
                // as swa-avg refuses it; swa-inspect lists them all.
                var nonFinite = NonFiniteValues()
                nonFinite.scan(piece.baseAddress!, dtype: tensor.dtype, count: elements, firstElement: done)
                if nonFinite.count > 0 {
                    throw SWAError(file: stream.path, "tensor '\(tensor.name)' holds NaN or Inf (first at element \(nonFinite.firstIndex)); see swa-inspect")
                }
                if spec.dtype == tensor.dtype {
                    try output.writeData(UnsafeRawBufferPointer(piece))
                } else {
                    accumulate(piece.baseAddress!, dtype: tensor.dtype, count: elements, into: sums, keep: 0, weight: 1, first: true)
                    guard encodeAverage(sums, count: elements, divisor: 1, as: spec.dtype, into: converted.baseAddress!) else {
                        throw SWAError(file: stream.path, "tensor '\(tensor.name)' holds NaN, Inf or a value beyond \(spec.dtype.name)'s range")
                    }
                    try output.writeData(UnsafeRawBufferPointer(rebasing: converted[..<(elements * spec.dtype.byteSize)]))
                }
                done += elements
                onPiece()
            }
        }
    }
}
