import Foundation

/// Runs the built command-line tools the way a user does and captures what they print.
enum ToolRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The folder holding the built executables: beside the test bundle, else `.build/debug`.
    static let binaries: String = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [beside, beside.deletingLastPathComponent()] where FileManager.default.isExecutableFile(atPath: candidate.path + "/swa-avg") {
            return candidate.path
        }
        return TestSupport.root + "/.build/debug"
    }()

    /// Runs `tool` with `arguments` from the repository root, with `environment`'s changes
    /// (a value sets a variable, nil removes it).
    static func run(_ tool: String, _ arguments: [String], environment: [String: String?] = [:]) throws -> Result {
        let result = try TestSupport.run(binaries + "/" + tool, arguments, directory: TestSupport.root,
                                         environment: environment)
        return Result(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }
}
