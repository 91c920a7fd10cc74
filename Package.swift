// swift-tools-version:6.0
import PackageDescription

// Layers (see README "Architecture"): handlers -> LambdaRuntime, LambdaEvents, PriceCache;
// PriceCache -> RedisPool -> COpenSSL; LambdaRuntime -> CCurl. LambdaRuntime and RedisPool never
// import each other.
// Release builds optimise across module boundaries: the event parsing, validation and Redis
// encoding of a batch run through generic code of other modules (arrays of JSON values, results),
// which without this is called unspecialised, resolving type metadata at run time for every
// record. (An unsafe flag is allowed in a root package; nothing depends on this one.)
let releaseOptimization: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))
]

let package = Package(
    name: "swift-lambda-redis",
    products: [
        .executable(name: "PriceCacheHandler", targets: ["PriceCacheHandler"]),
        .executable(name: "SignalHandler", targets: ["SignalHandler"]),
        .executable(name: "RuntimeEcho", targets: ["RuntimeEcho"]),
        .library(name: "LambdaRuntime", targets: ["LambdaRuntime"]),
        .library(name: "RedisPool", targets: ["RedisPool"]),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The crash line's signal handler: C, because a handler may call only async-signal-safe code.
        .target(name: "CCrashTrace"),
        .target(name: "LambdaRuntime", dependencies: ["CCurl", "CCrashTrace"], swiftSettings: releaseOptimization),
        .target(name: "LambdaEvents", swiftSettings: releaseOptimization),
        .target(name: "RedisPool", dependencies: ["COpenSSL"], swiftSettings: releaseOptimization),
        .target(name: "PriceCache", dependencies: ["RedisPool", "LambdaEvents"], swiftSettings: releaseOptimization),
        // What both cache functions share: event shapes to domain calls, partial batches, HTTP answers, metrics.
        .target(
            name: "HandlerCore",
            dependencies: ["LambdaRuntime", "LambdaEvents", "PriceCache", "RedisPool"],
            swiftSettings: releaseOptimization
        ),
        .executableTarget(
            name: "PriceCacheHandler",
            dependencies: ["HandlerCore", "LambdaRuntime", "LambdaEvents", "PriceCache", "RedisPool"],
            swiftSettings: releaseOptimization
        ),
        .executableTarget(
            name: "SignalHandler",
            dependencies: ["HandlerCore", "LambdaRuntime", "LambdaEvents", "PriceCache", "RedisPool"],
            swiftSettings: releaseOptimization
        ),
        .executableTarget(
            name: "RuntimeEcho",
            dependencies: ["LambdaRuntime"],
            path: "Examples/RuntimeEcho"
        ),
        // Measures RedisClient beside redis-benchmark (scripts/bench-redis.sh); not a product.
        .executableTarget(
            name: "RedisBenchmark",
            dependencies: ["RedisPool"],
            path: "Benchmarks/RedisBenchmark"
        ),

        // Test-only (not a product): a function that crashes on purpose as its event asks, so the
        // fault tests can check the crash line. Nothing shipped can reach it.
        .executableTarget(
            name: "CrashProbe",
            dependencies: ["LambdaRuntime"],
            path: "Tests/CrashProbe"
        ),

        // Shared by the test targets: spawning redis-server, making TLS certificates, a scriptable
        // Runtime API server on loopback. Not part of any product.
        .target(name: "TestSupport", dependencies: ["LambdaRuntime"], path: "Tests/TestSupport"),
        .testTarget(name: "LambdaRuntimeTests", dependencies: ["LambdaRuntime", "TestSupport"]),
        .testTarget(name: "RedisPoolTests", dependencies: ["RedisPool", "TestSupport"]),
        .testTarget(name: "LambdaEventsTests", dependencies: ["LambdaEvents"]),
        .testTarget(name: "PriceCacheTests", dependencies: ["PriceCache", "RedisPool", "TestSupport"]),
        // Runs the built PriceCacheHandler as a process against faults (Redis down, frozen, Runtime
        // API errors) and fuzzes the RESP parser and the event decoding with seeded inputs.
        .testTarget(
            name: "FaultTests",
            // PriceCacheHandler, RuntimeEcho, CrashProbe: built before these tests, which run their binaries.
            dependencies: ["TestSupport", "LambdaRuntime", "RedisPool", "LambdaEvents", "PriceCache", "PriceCacheHandler", "RuntimeEcho", "CrashProbe"]
        ),
        .testTarget(
            name: "HandlerTests",
            dependencies: ["PriceCacheHandler", "SignalHandler", "HandlerCore", "LambdaRuntime", "LambdaEvents", "PriceCache", "RedisPool", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
