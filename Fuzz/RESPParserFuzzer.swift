// libFuzzer entry point for the RESP reply parser, compiled together with the parser's sources by
// scripts/fuzz-libfuzzer.sh (no package target: -sanitize=fuzzer needs its own link).
// Same oracle as Tests/FaultTests/RESPParserFuzzTests.swift: replies and verdict must not depend on
// how the bytes are split; here the split point comes from the input's first byte.

private func parse(_ chunks: [ArraySlice<UInt8>]) -> (replies: String, failed: Bool) {
    var parser = RESPParser()
    var replies: [RESPValue] = []
    do {
        for chunk in chunks {
            parser.append(chunk)
            while let reply = try parser.next() { replies.append(reply) }
        }
    } catch {
        return ("\(replies)", true)
    }
    return ("\(replies)", false)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func respParserFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let cut = input.isEmpty ? 0 : Int(data[0]) % input.count
    let whole = parse([input[...]])
    let split = parse([input[..<cut], input[cut...]])
    precondition(whole == split, "split at \(cut) changed the outcome: \(whole) vs \(split)")
    return 0
}
