// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swa",
    products: [
        .library(name: "SWAKit", targets: ["SWAKit"]),
        .executable(name: "swa-avg", targets: ["swa-avg"]),
        .executable(name: "swa-inspect", targets: ["swa-inspect"]),
        .executable(name: "swa-bn-update", targets: ["swa-bn-update"]),
        .executable(name: "swa-eval", targets: ["swa-eval"]),
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
        .target(
            name: "SWAKit",
            dependencies: [
                "CZstd",
                "CBLAS",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .target(
            name: "SWACommandLine",
            dependencies: ["SWAKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "swa-avg", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-inspect", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-bn-update", dependencies: ["SWACommandLine"]),
        .executableTarget(name: "swa-eval", dependencies: ["SWACommandLine"]),
        // Unit tests per SWAKit area, and end-to-end tests (EndToEnd/) that run the built tools.
        .testTarget(name: "SWAKitTests", dependencies: ["SWAKit"]),
    ]
)
