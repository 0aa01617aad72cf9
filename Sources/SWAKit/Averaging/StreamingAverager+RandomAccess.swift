import SWAFormats

// MARK: - Inputs laid out differently, read in place

/// How the averager reads its inputs (`AveragingReport.strategy`).
enum AveragingStrategy: String {
    /// Every input shares one byte layout: chunk by chunk, side by side, each read once.
    case lockstep
    /// Layouts differ but every input can be read at any offset (plain or sharded plain
    /// safetensors): chunk by chunk at each input's own offset, then each input streamed once
    /// more to hash and verify it. Memory as lockstep.
    case randomAccess = "random access"
    /// Layouts differ and some input is a zstd stream: storage of the model's size.
    case accumulator
}

extension StreamingAverager {
    /// The strategy for `request`'s inputs; throws, naming file and tensor, if they do not hold
    /// the same tensors.
    func chooseStrategy() throws -> AveragingStrategy {
        if try checkInputs() { return .lockstep }
        let seekable = try request.inputs.allSatisfy { entry in
            (try TensorArchives.open(path: entry.path) as? any RandomAccessTensorArchive)?.supportsRandomAccess ?? false
        }
        return seekable ? .randomAccess : .accumulator
    }

    /// The output options with the side-file folder filled in from the last input when unset.
    var outputOptions: OutputOptions {
        var options = request.outputOptions
        if options.sideFilesFrom == nil, let last = request.inputs.last {
            options.sideFilesFrom = ModelFolder.folder(holding: last.path)
        }
        return options
    }

    /// Averages inputs whose tensors lie in different orders (in a sharded checkpoint, spread
    /// over its shards differently) with bounded memory: for each tensor, in the first input's
    /// order, each input's chunk is read where that input holds it, and combined exactly as in
    /// lockstep, so the output bits are the same. Afterwards every input is streamed front to
    /// back, which hashes it for `swa.sources` and verifies it to its last byte.
    func averageByRandomAccess(_ tensors: [TensorInfo], writer: any CheckpointOutput, onChunk: () -> Void) throws -> [String] {
        let count = request.inputs.count
        let work = try SideBySideWork(self, tensors: tensors, writer: writer)
        defer { work.output.deallocate() }
        let (chunkElements, inputs, storage, output) = (work.chunkElements, work.inputs, work.storage, work.output)
        let offsets = request.inputs.map { entry in
            Dictionary(uniqueKeysWithValues: entry.header.tensors.map { ($0.name, $0.dataOffsets.lowerBound) })
        }
        for (index, combiner) in work.combiners.enumerated() where writesTensor(index) {
            let tensor = combiner.tensor
            // checkSameTensors matched every name, dtype and shape to the first input's.
            let starts = try offsets.enumerated().map { index, table in
                guard let start = table[tensor.name] else {
                    throw SWAError(file: request.inputs[index].path, "internal: tensor '\(tensor.name)' is not in this input")
                }
                return start
            }
            var done = 0
            repeat {
                let elements = min(chunkElements, tensor.elementCount - done)
                let byteCount = elements * tensor.dtype.byteSize
                let first = done * tensor.dtype.byteSize
                _ = try concurrently(count) { index in try inputs[index].readChunk(at: starts[index] + first, byteCount: byteCount) }
                try combineChunk(inputs, combiner, elements: elements, firstElement: done, slots: storage.slots, output: output.baseAddress!)
                try writer.writeData(UnsafeRawBufferPointer(rebasing: output[..<(elements * combiner.outputDType.byteSize)]))
                done += elements
                onChunk()
            } while done < tensor.elementCount
        }
        return try finishInputs(inputs)
    }
}
