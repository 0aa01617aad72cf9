import ArgumentParser
import SWAEngine
import SWAFormats

/// `--arch` / `--graph`: which network a checkpoint holds, shared by the tools that run one.
public struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A preset of the paper's code: vgg16, vgg16bn, vgg19, vgg19bn, preresnetN, wrnDxK.", valueName: "name"))
    public var arch: String?

    @Option(help: ArgumentHelp("A model graph JSON file (docs/GRAPH.md).", valueName: "file.json"))
    public var graph: String?

    public init() {}

    public func validate() throws {
        if arch != nil, graph != nil { throw ValidationError("--arch and --graph exclude each other") }
        if let arch {
            do { _ = try ArchitecturePreset(name: arch) } catch let error as SWAError { throw ValidationError(error.message) }
        }
    }

    /// The graph source these flags name (the checkpoint's swa.graph when neither is given).
    public var source: ModelSource { ModelSource(graphFile: graph, arch: arch) }
}
