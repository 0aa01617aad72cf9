// swift-tools-version: 6.1
// Benchmarks for swa, kept in their own package so that `swift build`, `swift test` and CI of
// the root package never compile the benchmark stack. See docs/PERFORMANCE.md.
import PackageDescription

let package = Package(
    name: "benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` must equal the root manifest's name: a path package is otherwise known by
        // its folder name, which differs between clones.
        .package(name: "swa", path: "../"),
        // Only the MallocInterposer trait: the default RuntimeInterposer trait would pull in
        // swift-runtime-interposer, which this machine's package mirror does not have.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Model-shaped synthetic checkpoints, shared by the generator and the benchmarks.
        .target(
            name: "SyntheticCheckpoints",
            dependencies: [.product(name: "SWAKit", package: "swa")]
        ),
        // `make-synthetic-checkpoints FOLDER COUNT MEGABYTES`, used by bench-average.sh.
        .executableTarget(
            name: "make-synthetic-checkpoints",
            dependencies: ["SyntheticCheckpoints"]
        ),
        // `bench-conv-backends`: every convolution shape of the presets and families on im2col + sgemm
        // and on oneDNN, alternating, medians (Benchmarks/bench-dnnl.sh).
        .executableTarget(
            name: "bench-conv-backends",
            dependencies: [.product(name: "SWAKit", package: "swa")]
        ),
        .executableTarget(
            name: "AveragingBenchmarks",
            dependencies: [
                "SyntheticCheckpoints",
                .product(name: "SWAKit", package: "swa"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AveragingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ForwardKernelBenchmarks",
            dependencies: [
                .product(name: "SWAKit", package: "swa"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ForwardKernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
