/// How to read a checkpoint file beyond its format: which object inside a PyTorch file holds
/// the weights, and what to strip from their names (`--key`, `--strip-prefix`).
///
/// Carried with every checkpoint found (`CheckpointEntry`) so that each later reopening
/// (averaging, loading a model, ensemble members) reads the same tensors under the same names.
public struct ArchiveOptions: Sendable, Hashable {
    /// Dotted path to the state dict inside a PyTorch file, e.g. `swa_state_dict`,
    /// `state_dict_ema`, `callbacks.EMA.ema_state_dict`; nil to search (docs/FORMAT.md).
    public var key: String?
    /// A prefix removed from every tensor name that has it, e.g. `model.`; nil to strip only
    /// `module.` and `_orig_mod.` when every name has them.
    public var stripPrefix: String?

    public init(key: String? = nil, stripPrefix: String? = nil) {
        self.key = key
        self.stripPrefix = stripPrefix
    }

    /// No key, no prefix: the defaults.
    public static let none = ArchiveOptions()

    /// Whether any option is set.
    public var isEmpty: Bool { key == nil && stripPrefix == nil }
}
