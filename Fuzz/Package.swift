// swift-tools-version:6.0
// libFuzzer targets for Herald's two parsers of untrusted bytes, kept out of the main package so that
// its build never needs the fuzzer runtime. The targets compile the real sources through symlinks
// (Sources/ClientMessageFuzz/HeraldProtocol, Sources/RESPReplyFuzz/*.swift, Sources/CHiredis).
// Build and run them with Fuzz/run.sh; Fuzz/README.md says how.
import PackageDescription

// Only the fuzzed code is instrumented (coverage for libFuzzer, AddressSanitizer); its dependencies build as usual.
// The flags go in one `-sanitize=` because the driver keeps only the last of several.
let fuzzed: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])]
let fuzzerRuntime: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]

let package = Package(
    name: "herald-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")
    ],
    targets: [
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis"),
        .executableTarget(
            name: "ClientMessageFuzz",
            path: "Sources/ClientMessageFuzz",
            swiftSettings: fuzzed,
            linkerSettings: fuzzerRuntime
        ),
        .executableTarget(
            name: "RESPReplyFuzz",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Sources/RESPReplyFuzz",
            swiftSettings: fuzzed,
            linkerSettings: fuzzerRuntime
        ),
    ]
)
