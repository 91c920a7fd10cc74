// Measures RedisClient the way redis-benchmark measures the server: one connection, GET of a
// small value, first one command at a time (latency), then pipelines of 16 (throughput).
// Prints `name=value` lines for scripts/bench-redis.sh to set beside redis-benchmark's figures.
import Glibc
import RedisPool

struct Options {
    var host = "127.0.0.1"
    var port = 6379
    var requests = 100_000
    var key = "key:__rand_int__"

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--host": host = value
            case "--port": port = Int(value) ?? port
            case "--requests": requests = Int(value) ?? requests
            case "--key": key = value
            default: print("unknown option \(flag)")
            }
        }
    }
}

func microseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
}

let options = Options(CommandLine.arguments)
do {
    let client = try RedisClient(
        configuration: RedisConfiguration(
            endpoint: options.host, port: options.port, useTLS: false, poolMaximum: 1
        ))
    let get = RedisCommand("GET", options.key)
    for _ in 0..<5_000 { _ = try client.command(get) }  // warm-up: connection, caches, branch predictors

    var latencies: [Double] = []
    latencies.reserveCapacity(options.requests)
    let clock = ContinuousClock()
    let singleStart = clock.now
    for _ in 0..<options.requests {
        let start = clock.now
        _ = try client.command(get)
        latencies.append(microseconds(start.duration(to: clock.now)))
    }
    let singleElapsed = microseconds(singleStart.duration(to: clock.now))
    latencies.sort()

    let batch = [RedisCommand](repeating: get, count: 16)
    let batches = options.requests * 4 / 16
    let pipelineStart = clock.now
    for _ in 0..<batches { _ = try client.pipeline(batch) }
    let pipelineElapsed = microseconds(pipelineStart.duration(to: clock.now))

    print("client_get_p50_us=\(latencies[latencies.count / 2])")
    print("client_get_p99_us=\(latencies[latencies.count * 99 / 100])")
    print("client_get_rps=\(Double(options.requests) / singleElapsed * 1e6)")
    print("client_pipeline16_rps=\(Double(batches * 16) / pipelineElapsed * 1e6)")
} catch {
    print("error=\(error)")
    exit(1)
}
