// libFuzzer entry point for the event decoding (JSON parser, batch and HTTP API shapes), compiled
// together with the LambdaEvents sources by scripts/fuzz-libfuzzer.sh. Oracle as in
// Tests/FaultTests/EventDecodingFuzzTests.swift: an accepted document writes back to bytes that
// parse to the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func eventDecodingFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(input) else { return 0 }
    precondition((try? JSONParser.parse(value.jsonBytes)) == value, "accepted document does not round-trip")
    if RecordBatch.matches(value), let batch = try? RecordBatch(event: value) {
        for record in batch.records {
            if case .success(let payload) = record.payload { _ = try? JSONParser.parse(payload) }
        }
    }
    if HTTPAPIRequest.matches(value), let request = try? HTTPAPIRequest(event: value), let body = request.body {
        _ = try? JSONParser.parse(body)
    }
    return 0
}
