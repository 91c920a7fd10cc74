import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum SpawnedProcessExit: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

/// A program started with `posix_spawn`, its stdout and stderr captured to one file, for tests that
/// run the real built binaries (the fault suite runs the shipped bootstrap, not an in-process copy).
///
/// The child never inherits the test process's other descriptors (servers' listening sockets would
/// otherwise stay open in it and skew descriptor counts). Killed and reaped on deinit at the latest,
/// so a failing test leaves no process behind.
// @unchecked: `exitStatus` is only touched with `lock` held. NSLock rather than
// Synchronization.Mutex, whose futex path ThreadSanitizer cannot follow on Linux.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    /// Everything the child wrote to stdout and stderr, in order.
    public let outputPath: String
    private let lock = NSLock()
    private var exitStatus: SpawnedProcessExit?

    public init(executable: String, arguments: [String] = [], environment: [String: String]) throws {
        guard access(executable, X_OK) == 0 else {
            throw SpawnError(description: "\(executable) is not an executable file")
        }
        self.executable = executable
        outputPath =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("child-\(UUID().uuidString).log").path

        // A clean signal state: the test runner's threads block some signals (SIGTERM among them),
        // and a spawned child inherits the spawning thread's mask unless told otherwise.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        Self.closeInheritedDescriptors(in: &fileActions)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var childPID: pid_t = 0
        let result = posix_spawn(&childPID, executable, &fileActions, &attributes, argv, envp)
        guard result == 0 else {
            throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        pid = childPID
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    /// The exit, if the child has ended (reaps it).
    public var exit: SpawnedProcessExit? {
        lock.withLock {
            if exitStatus == nil { exitStatus = Self.reap(pid, blocking: false) }
            return exitStatus
        }
    }

    public var isRunning: Bool { exit == nil }

    /// Waits up to `timeout` for the child to end; nil if it is still running.
    public func waitForExit(timeout: Duration) -> SpawnedProcessExit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit { return exit }
            usleep(2_000)
        }
        return exit
    }

    public func send(signal: Int32) {
        if isRunning { Glibc.kill(pid, signal) }
    }

    /// SIGKILL and reap; harmless once the child has ended.
    public func kill() {
        lock.withLock {
            guard exitStatus == nil else { return }
            Glibc.kill(pid, SIGKILL)
            exitStatus = Self.reap(pid, blocking: true)
        }
    }

    /// What the child printed so far.
    public func output() -> String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Adds "close every descriptor from 3 up" to the spawn's actions. glibc has it since 2.34, but
    /// its header hides it from Swift's importer (it is a GNU extension), so it is looked up by name.
    private static func closeInheritedDescriptors(in fileActions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&fileActions, 3)
    }

    private static func reap(_ pid: pid_t, blocking: Bool) -> SpawnedProcessExit? {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        guard reaped == pid else { return nil }
        // The <sys/wait.h> macros are not imported into Swift; these are their glibc definitions.
        let signal = status & 0x7f
        return signal == 0 ? .exited(code: (status >> 8) & 0xff) : .signaled(signal)
    }
}

/// Where SwiftPM put the built executables: the folder of the running test bundle.
public enum BuiltProducts {
    public static func path(of product: String) throws -> String {
        let testBinary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let folder = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        let candidate = folder.appendingPathComponent(product).path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw SpawnError(description: "\(product) is not built in \(folder.path): run `swift build --build-tests` first")
        }
        return candidate
    }
}
