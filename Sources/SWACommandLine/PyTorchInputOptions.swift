import ArgumentParser
import SWAFormats
import SWAKit

/// `--key --strip-prefix`: how to read PyTorch `torch.save` inputs, shared by every tool that
/// reads checkpoints (docs/CLI.md, "PyTorch inputs").
public struct PyTorchInputOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "In a PyTorch file, the dotted path of the state dict to read, e.g. swa_state_dict, state_dict_ema, callbacks.EMA.ema_state_dict (default: the file itself, else state_dict, model_state, model, module).",
        valueName: "path"))
    public var key: String?

    @Option(help: ArgumentHelp(
        "In a PyTorch file, remove this prefix from every tensor name that has it, e.g. model. (default: module. and _orig_mod. when every name has them).",
        valueName: "prefix"))
    public var stripPrefix: String?

    public init() {}

    public func validate() throws {
        if let key, key.isEmpty || key.hasPrefix(".") || key.hasSuffix(".") {
            throw ValidationError("--key must be a dotted path such as state_dict or callbacks.EMA.ema_state_dict, got '\(key)'")
        }
        if let stripPrefix, stripPrefix.isEmpty { throw ValidationError("--strip-prefix must not be empty") }
    }

    /// The archive options these flags describe.
    public var archiveOptions: ArchiveOptions {
        ArchiveOptions(key: key, stripPrefix: stripPrefix)
    }
}
