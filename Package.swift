// swift-tools-version:6.1
import PackageDescription

/// Everything a Lambda binary links must avoid full Foundation: FoundationEssentials keeps the
/// static binaries small and their cold start short.
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "identity-center-compliance",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LambdaRuntime", targets: ["LambdaRuntime"]),
        .library(name: "AWSClient", targets: ["AWSClient"]),
        .library(name: "Compliance", targets: ["Compliance"]),
        .executable(name: "registry-writer", targets: ["registry-writer"]),
        .executable(name: "registry-cleaner", targets: ["registry-cleaner"]),
        .executable(name: "password-expiry-monitor", targets: ["password-expiry-monitor"]),
        .executable(name: "inactivity-monitor", targets: ["inactivity-monitor"]),
        .executable(name: "credential-report", targets: ["credential-report"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0")
    ],
    targets: [
        // libcurl is loaded at run time (dlopen), never linked: the bootstrap must not carry a
        // libcurl symbol version that Amazon Linux's libcurl would not satisfy. See docs/contract.md.
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Keeps the static binaries' glibc requirement at Amazon Linux 2023's 2.34 (docs/contract.md, "Packaging").
        .target(name: "GlibcCompat", linkerSettings: [.linkedLibrary("m")]),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "HTTPTransport",
            dependencies: ["CCurl"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LambdaRuntime",
            dependencies: [
                "HTTPTransport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "AWSClient",
            dependencies: [
                "HTTPTransport",
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "Compliance",
            dependencies: ["AWSClient", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        // The domain's interfaces kept in AWS: the registry and the ledger in DynamoDB, alerts to
        // SQS and SNS, findings in Security Hub, CloudTrail, the report's bucket, the directories.
        .target(
            name: "AWSAdapters",
            dependencies: ["Compliance", "AWSClient"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "FunctionSupport",
            dependencies: [
                "Compliance", "AWSAdapters", "LambdaRuntime", "AWSClient", "HTTPTransport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(name: "registry-writer", dependencies: ["FunctionSupport", "GlibcCompat"], swiftSettings: strictSwift),
        .executableTarget(name: "registry-cleaner", dependencies: ["FunctionSupport", "GlibcCompat"], swiftSettings: strictSwift),
        .executableTarget(name: "password-expiry-monitor", dependencies: ["FunctionSupport", "GlibcCompat"], swiftSettings: strictSwift),
        .executableTarget(name: "inactivity-monitor", dependencies: ["FunctionSupport", "GlibcCompat"], swiftSettings: strictSwift),
        .executableTarget(name: "credential-report", dependencies: ["FunctionSupport", "GlibcCompat"], swiftSettings: strictSwift),
        .target(
            name: "TestHTTPServer",
            path: "Tests/TestHTTPServer",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HTTPTransportTests",
            dependencies: ["HTTPTransport", "TestHTTPServer"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "LambdaRuntimeTests",
            dependencies: ["LambdaRuntime", "TestHTTPServer"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ComplianceTests",
            dependencies: ["Compliance", "AWSAdapters", "AWSClient"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AWSIntegrationTests",
            dependencies: ["AWSClient", "HTTPTransport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "AWSClientTests",
            dependencies: ["AWSClient", "TestHTTPServer"],
            resources: [.copy("Resources/sigv4-test-suite")],
            swiftSettings: strictSwift
        ),
    ]
)
