import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the fault-injection tests (`FaultInjectionTests`) need from the machine, and how they
/// look at what a fault did: the files it may have lost, the temporary files it may have left.
enum FaultInjection {
    // MARK: - Capabilities

    static let isRoot = geteuid() == 0

    /// util-linux's `setpriv`, which runs a tool as root without the capabilities that let
    /// root read and write regardless of permissions.
    static let setpriv = "/usr/bin/setpriv"

    /// Whether permission bits stop the tools: not root, or root with `setpriv` to drop
    /// `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH`.
    static let permissionsApply = !isRoot || FileManager.default.isExecutableFile(atPath: setpriv)

    /// Whether this process may mount a tmpfs (root, and not forbidden by a container): tried once.
    static let canMount: Bool = {
        guard isRoot else { return false }
        let probe = NSTemporaryDirectory() + "swa-mount-probe-" + UUID().uuidString
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil else { return false }
        defer { rmdir(probe) }
        guard mountTmpfs(at: probe, options: "size=64k") == 0 else { return false }
        umount2(probe, Int32(MNT_DETACH))
        return true
    }()

    // MARK: - Mounts

    /// Mounts a tmpfs of `kibibytes` KiB at the existing folder `path`, read-only if asked, and
    /// runs `body`; unmounts it on every path. The corresponding C functions are `mount` and `umount2`.
    static func withTmpfs<T>(at path: String, kibibytes: Int, readOnly: Bool = false, _ body: () throws -> T) throws -> T {
        guard mountTmpfs(at: path, options: "size=\(kibibytes)k,mode=0755", flags: readOnly ? UInt(MS_RDONLY) : 0) == 0 else {
            throw FaultError("cannot mount a tmpfs at \(path): \(String(cString: strerror(errno)))")
        }
        defer { umount2(path, Int32(MNT_DETACH)) }
        return try body()
    }

    /// Mounts (or with `MS_REMOUNT`, remounts) a tmpfs at `path`. The corresponding C function is `mount`.
    /// - Returns: 0, or -1 with `errno` set.
    static func mountTmpfs(at path: String, options: String, flags: UInt = 0) -> Int32 {
        options.withCString { mount("tmpfs", path, "tmpfs", flags, $0) }
    }

    /// Fills the file system holding `folder` with a file `name` until a write fails, so no
    /// further byte fits. - Returns: the filler's size.
    @discardableResult
    static func fill(_ folder: String, name: String = "filler") throws -> Int {
        let descriptor = open(folder + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw FaultError("cannot create \(folder)/\(name)") }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0x5A, count: 4096)
        var size = 0
        while true {
            let written = block.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { break }
            size += written
        }
        // A last partial page may still fit byte by byte.
        while (block.withUnsafeBytes { write(descriptor, $0.baseAddress, 1) }) == 1 { size += 1 }
        return size
    }

    /// Free bytes of the file system holding `path`. The corresponding C function is `statvfs`.
    static func freeBytes(_ path: String) -> Int {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return -1 }
        return Int(status.f_bavail) * Int(status.f_frsize)
    }

    // MARK: - Running the tools

    /// Runs `tool` as `ToolRunner.run` does; with `dropPermissions` as root, under `setpriv`
    /// without `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH`, so that permission bits apply.
    static func run(_ tool: String, _ arguments: [String], dropPermissions: Bool = false,
                    environment: [String: String?] = [:]) throws -> ToolRunner.Result {
        guard dropPermissions, isRoot else { return try ToolRunner.run(tool, arguments, environment: environment) }
        let capabilities = "-dac_override,-dac_read_search"
        let result = try TestSupport.run(setpriv, ["--inh-caps=\(capabilities)", "--bounding-set=\(capabilities)", "--",
                                                   ToolRunner.binaries + "/" + tool] + arguments,
                                         directory: TestSupport.root, environment: environment)
        return ToolRunner.Result(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }

    // MARK: - What a fault did

    /// Writes an earlier output at `path`: a file, or a folder holding `model.safetensors`.
    static func placeEarlierOutput(at path: String, folder: Bool) throws {
        let bytes = Array("an earlier output, to be kept\n".utf8)
        if folder {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            try TestSupport.write(bytes, to: path, name: "model.safetensors")
        } else {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }

    /// Every regular file under `folder` (one level of subfolders, as Hugging Face outputs
    /// have), hidden ones included, with its bytes; keys are paths relative to `folder`.
    static func snapshot(_ folder: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in TestSupport.contents(of: folder) {
            let path = folder + "/" + name
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue {
                files[name + "/"] = []
                for inner in TestSupport.contents(of: path) {
                    files[name + "/" + inner] = (try? TestSupport.bytes(of: path + "/" + inner)) ?? []
                }
            } else {
                files[name] = (try? TestSupport.bytes(of: path)) ?? []
            }
        }
        return files
    }

    /// Bytes of `before`'s files that are gone or changed in `after`.
    static func bytesLost(_ before: [String: [UInt8]], _ after: [String: [UInt8]]) -> Int {
        before.reduce(0) { lost, file in after[file.key] == file.value ? lost : lost + max(file.value.count, 1) }
    }

    /// Names in `after` that were not in `before` and are not `expected`: what a fault left.
    static func leftovers(_ before: [String: [UInt8]], _ after: [String: [UInt8]], expected: Set<String> = []) -> [String] {
        after.keys.filter { before[$0] == nil && !expected.contains($0) }.sorted()
    }

    /// The lines a tool printed to stderr.
    static func lines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init)
    }

    // MARK: - The table in docs/RELIABILITY.md

    /// Appends a row of the fault table to the file `SWA_FAULT_TABLE` names, if set:
    /// `| fault | command | exit | message | bytes lost | temporary files left |`.
    static func record(fault: String, command: String, status: String, message: String, bytesLost: Int, leftovers: Int) {
        guard let path = ProcessInfo.processInfo.environment["SWA_FAULT_TABLE"] else { return }
        let shown = message.replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: NSTemporaryDirectory(), with: "$TMP/")
        let row = "| \(fault) | `\(command)` | \(status) | \(shown) | \(bytesLost) | \(leftovers) |\n"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { return }
        _ = Array(row.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }
}

/// A failure of the test's own set-up.
struct FaultError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
