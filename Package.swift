// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swa",
    products: [
        .library(name: "SWAKit", targets: ["SWAFormats", "SWAData", "SWAEngine", "SWAKit"]),
        .executable(name: "swa-avg", targets: ["swa-avg"]),
        .executable(name: "swa-inspect", targets: ["swa-inspect"]),
        .executable(name: "swa-bn-update", targets: ["swa-bn-update"]),
        .executable(name: "swa-eval", targets: ["swa-eval"]),
        .executable(name: "swa-convert", targets: ["swa-convert"]),
        .executable(name: "swa-landscape", targets: ["swa-landscape"]),
        // The libFuzzer harness (docs/RELIABILITY.md, "Fuzzing"); `make fuzz` builds it with the fuzzer.
        .executable(name: "swa-fuzz", targets: ["swa-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics.git", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CSPNG", pkgConfig: "spng", providers: [.apt(["libspng-dev"])]),
        // oneDNN's C API, a second convolution backend (no pkg-config file in Debian's package).
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // What the build knew about itself (version, date) for --version; the Makefile defines them.
        .target(name: "CBuildInfo"),
        // The CPU's vector extensions (cpuid), to choose BLAS kernels by feature, not by model.
        .target(name: "CCPUFeatures"),
        // Vector kernels of the image resize (AVX2, chosen at run time through CCPUFeatures).
        .target(name: "CImageKernels", dependencies: ["CCPUFeatures"]),
        // The layers, bottom up (docs/ARCHITECTURE.md). Each may use only the ones above it.
        // Tensors and file formats: safetensors, zstd, the checkpoint reader and writer, the
        // swa.* metadata schema, atomic output files.
        .target(
            name: "SWAFormats",
            dependencies: [
                "CZstd",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Data sets: .npz/.npy and checkpoint-format data, layouts, normalisation, augmentation, batches.
        .target(
            name: "SWAData",
            dependencies: [
                "SWAFormats",
                "CTurboJPEG",
                "CSPNG",
                "CImageKernels",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // The model engine: graph JSON and presets, binding weights, kernels over OpenBLAS, the forward pass.
        .target(
            name: "SWAEngine",
            dependencies: [
                "SWAFormats",
                "CBLAS",
                "CDNNL",
                "CCPUFeatures",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        // The procedures: checkpoint discovery and selection, averaging, the BN update, evaluation.
        .target(
            name: "SWAKit",
            dependencies: [
                "SWAFormats",
                "SWAData",
                "SWAEngine",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The command-line layer: shared flags, progress, exit codes, signal handling, --version
        // (the build's version and date, and the BLAS kernels OpenBLAS selected).
        .target(
            name: "SWACommandLine",
            dependencies: ["SWAKit", "CBuildInfo", "CBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "swa-avg", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-inspect", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-bn-update", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-eval", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-convert", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-landscape", dependencies: ["SWACommandLine"]),
        // Fuzzing: each parser's entry point fed raw bytes (SWAFuzzTargets), shared by the libFuzzer
        // harness (swa-fuzz, built with the fuzzer only by `make fuzz`) and the regression tests.
        .target(name: "SWAFuzzTargets", dependencies: ["SWAKit"]),
        // libFuzzer's driver, declared for Swift (header only; `make fuzz` links the library).
        .target(name: "CLibFuzzer"),
        .executableTarget(name: "swa-fuzz", dependencies: ["SWAFuzzTargets", "CLibFuzzer"]),
        // Test-only code: naive reference kernels (the oracles) and an .npz writer.
        .target(
            name: "SWATestSupport",
            dependencies: ["SWAFormats", "SWAData", "SWAEngine", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        // Unit tests per area, and end-to-end tests (EndToEnd/) that run the built tools.
        .testTarget(name: "SWAKitTests", dependencies: ["SWAKit", "SWACommandLine", "SWATestSupport", "SWAFuzzTargets"]),
    ]
)
