// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

/// What every service library uses besides the shared modules.
let serviceDependencies: [Target.Dependency] = [
    "HeraldCore",
    "Redis",
    "HeraldProtocol",
    .product(name: "Logging", package: "swift-log"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "Prometheus", package: "swift-prometheus"),
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

let package = Package(
    name: "herald",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "herald-gateway", targets: ["herald-gateway"]),
        .executable(name: "herald-worker", targets: ["herald-worker"]),
        .executable(name: "herald-relay", targets: ["herald-relay"]),
        .executable(name: "herald-redis-bench", targets: ["herald-redis-bench"]),
        .executable(name: "herald-bench", targets: ["herald-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.12.1"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
    ],
    targets: [
        // MARK: Shared
        .systemLibrary(
            name: "CHiredis",
            path: "Shared/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            path: "Shared/Redis",
            swiftSettings: strict
        ),
        .target(
            name: "HeraldProtocol",
            path: "Shared/HeraldProtocol",
            swiftSettings: strict
        ),
        .target(
            name: "HeraldCore",
            dependencies: [
                "Redis",
                "HeraldProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Shared/HeraldCore",
            swiftSettings: strict
        ),
        // What HeraldTesting's ChildProcess needs of the C library that Swift's Glibc module leaves out.
        .target(name: "CHeraldSpawn", path: "Shared/CHeraldSpawn"),
        .target(
            name: "HeraldTesting",
            dependencies: [
                "CHeraldSpawn",
                "Redis",
                "HeraldProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Shared/HeraldTesting",
            swiftSettings: strict
        ),

        // MARK: Services
        .target(
            name: "Gateway",
            dependencies: serviceDependencies + [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Services/Gateway/Gateway",
            resources: [.copy("Public")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "herald-gateway",
            dependencies: ["Gateway"] + serviceDependencies,
            path: "Services/Gateway/Main",
            swiftSettings: strict
        ),
        .target(
            name: "Worker",
            dependencies: serviceDependencies + [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Services/Worker/Worker",
            resources: [.copy("Prompts")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "herald-worker",
            dependencies: ["Worker"] + serviceDependencies,
            path: "Services/Worker/Main",
            swiftSettings: strict
        ),
        .target(
            name: "Relay",
            dependencies: serviceDependencies,
            path: "Services/Relay/Relay",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "herald-relay",
            dependencies: ["Relay"] + serviceDependencies,
            path: "Services/Relay/Main",
            swiftSettings: strict
        ),

        // MARK: Benchmarks
        .executableTarget(
            name: "herald-redis-bench",
            dependencies: [
                "Redis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/RedisBench",
            swiftSettings: strict
        ),

        .executableTarget(
            name: "herald-bench",
            dependencies: [
                "Redis",
                "HeraldProtocol",
                "HeraldCore",
                "Relay",
                "HeraldTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Benchmarks/HeraldBench",
            swiftSettings: strict
        ),

        // MARK: Tests
        // Unit targets (`<Module>Tests`) run without a process or a Redis: `swift test --filter RedisTests` takes
        // seconds. Integration targets (`<Module>IntegrationTests`, `EndToEndTests`) start redis-server and the
        // built executables.
        .testTarget(
            name: "RedisTests",
            dependencies: [
                "Redis", "HeraldTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/RedisTests"
        ),
        .testTarget(name: "HeraldProtocolTests", dependencies: ["HeraldProtocol", "HeraldTesting"], path: "Tests/HeraldProtocolTests"),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Worker", "HeraldCore", "HeraldTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/WorkerTests"
        ),
        .testTarget(name: "RelayTests", dependencies: ["Relay", "HeraldTesting"], path: "Tests/RelayTests"),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "HeraldTesting"], path: "Tests/GatewayTests"),
        // The settings catalogue, the documents derived from it, and each executable's options built on it.
        .testTarget(
            name: "SettingsTests",
            dependencies: ["HeraldCore", "Gateway", "Worker", "Relay", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/SettingsTests"
        ),

        .testTarget(
            name: "HeraldTestingTests",
            dependencies: ["HeraldTesting", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Tests/HeraldTestingTests"
        ),
        .testTarget(
            name: "RedisIntegrationTests",
            dependencies: [
                "Redis", "HeraldTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/RedisIntegrationTests"
        ),
        .testTarget(name: "WorkerIntegrationTests", dependencies: ["Worker", "HeraldTesting"], path: "Tests/WorkerIntegrationTests"),
        .testTarget(name: "RelayIntegrationTests", dependencies: ["Relay", "HeraldTesting"], path: "Tests/RelayIntegrationTests"),
        .testTarget(name: "GatewayIntegrationTests", dependencies: ["Gateway", "HeraldTesting"], path: "Tests/GatewayIntegrationTests"),
        .testTarget(
            name: "EndToEndTests",
            // Crypto signs the JWTs a test presents (HMAC-SHA256), as an application issuing them would.
            dependencies: ["HeraldTesting", "HeraldProtocol", "HeraldCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/EndToEndTests"
        ),
    ]
)
