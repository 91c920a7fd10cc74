import Foundation

/// Programs the serving-layer tests run: the built functions, and python3 with redis-py (the
/// serving layer's own client), installed with pip on first use if the machine lacks it.
enum ServingLayerReader {
    /// Runs a program to its end (feeding it `input`) and returns its exit status and standard output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil) throws -> (
        status: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let inputPipe = input.map { _ in Pipe() }
        if let inputPipe { process.standardInput = inputPipe }
        try process.run()
        if let inputPipe, let input {
            // Written from another thread: a large input and a large output would otherwise wait
            // on each other's full pipe.
            let writer = inputPipe.fileHandleForWriting
            Thread {
                writer.write(input)
                try? writer.close()
            }.start()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `/usr/bin/env`, to be run with `python3` as its first argument, once redis-py is importable.
    static func python3() throws -> String {
        let python = "/usr/bin/env"
        if try run(python, ["python3", "-c", "import redis"]).status != 0 {
            _ = try run(python, ["python3", "-m", "pip", "install", "--quiet", "redis"])
        }
        return python
    }
}
