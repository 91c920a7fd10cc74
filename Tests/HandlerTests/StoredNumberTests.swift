import Foundation
import LambdaEvents
import Testing

/// Whatever spelling a number arrives in, what is stored parses: every numeric field of both
/// functions gets a corpus of spellings, as a string and as a JSON number, through the real
/// handlers into a real redis-server, and redis-py reads every stored value back with a strict
/// JSON parser (no NaN or Infinity, no value a double cannot hold, no negative zero) and checks
/// that the `price:` hash fields are plain decimals and every accepted value is the one sent;
/// `GET /signals/...` reads every stored signal back.
@Suite(.serialized) final class StoredNumberTests {
    let harness: HandlerHarness

    init() throws {
        harness = try HandlerHarness()
    }

    static let spellings = [
        "0", "00", "000", "0001", "00.5", "0.5", "0.50", "1", "1.0", "01", "205.50", "0205.50", "1000000",
        "-0", "-0.0", "-00", "-1", "-0.5", "0.5e0", "5E-1", "5e-1", "0.05E+1", "1e-7", "1E-400", "1e-324", "1e400", "-1e400",
        "1.5e300", "-2.5e-300", "1e-60", "0e5", "1697658000", "01697658000", "1.697658E9", "1697658000.0",
        "NaN", "Infinity", "-Infinity", "1.", ".5", "+1", "0x10", " 1", "1 ", "", "1,5", "١",
    ]

    enum Family: String {
        case price, signal
    }

    /// A numeric field, where it goes in an event and where its value is stored.
    struct Field {
        let family: Family
        let name: String

        /// The event with this field set to `value` (JSON text), written to key number `index`.
        func event(_ value: String, index: Int) -> String {
            switch family {
            case .price:
                var members = ["close": #""1""#, "open": #""1""#, "high": #""1""#, "low": #""1""#, "volume": #""1""#, "timestamp": #""1697658000""#]
                members[name] = value
                let body = ["close", "open", "high", "low", "volume", "timestamp"].map { #""\#($0)":\#(members[$0]!)"# }.joined(separator: ",")
                return #"{"symbol":"N\#(index)",\#(body)}"#
            case .signal:
                var members = ["confidence": "0.5", "timestamp": #""1697658000""#, "price": #""1""#, "indicators": #"{"x":1}"#]
                switch name {
                case "indicators.x": members["indicators"] = #"{"x":\#(value)}"#
                case "indicators.deep[1]": members["indicators"] = #"{"deep":[0,\#(value)]}"#
                default: members[name] = value
                }
                let body = ["confidence", "timestamp", "price", "indicators"].map { #""\#($0)":\#(members[$0]!)"# }.joined(separator: ",")
                return #"{"symbol":"S","strategy_id":"c\#(index)","signal":"buy",\#(body)}"#
            }
        }

        func key(index: Int) -> String {
            family == .price ? "price:N\(index)" : "signal:S:c\(index)"
        }
    }

    static let fields: [Field] =
        ["close", "open", "high", "low", "volume", "timestamp"].map { Field(family: .price, name: $0) }
        + ["confidence", "price", "timestamp", "indicators.x", "indicators.deep[1]"].map { Field(family: .signal, name: $0) }

    struct Outcome: Codable {
        let key: String
        let family: String
        let field: String
        /// The spelling sent, and whether as a JSON string.
        let input: String
        let asString: Bool
        var accepted: Bool
        var message: String
    }

    /// Reads every stored key strictly, then the value of every accepted input; prints problems.
    static let reader = #"""
        import json, math, re, sys, redis
        from decimal import Decimal

        r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
        outcomes = json.load(sys.stdin)
        problems = []

        def refuse_constant(name):
            raise ValueError("non-standard constant " + name)

        def number(text):
            value = Decimal(text)
            as_double = float(text)
            if not math.isfinite(as_double):
                raise ValueError(text + " overflows a double")
            if as_double == 0 and value != 0:
                raise ValueError(text + " underflows a double")
            if value == 0 and text.startswith("-"):
                raise ValueError(text + " is a negative zero")
            return value

        def strict(text):
            return json.loads(text, parse_constant=refuse_constant, parse_float=number, parse_int=number)

        plain_decimal = re.compile(r"\A(0|[1-9][0-9]*)(\.[0-9]+)?\Z")
        whole_number = re.compile(r"\A(0|[1-9][0-9]*)\Z")
        stored = {}
        for key in r.scan_iter("signal:*"):
            raw = r.get(key)
            try:
                stored[key] = strict(raw)
            except Exception as error:
                problems.append("%s holds %r, which is not strict JSON: %s" % (key, raw, error))
        for key in r.scan_iter("price:*"):
            fields = r.hgetall(key)
            for name in ("close", "open", "high", "low", "volume"):
                if not plain_decimal.match(fields.get(name, "")):
                    problems.append("%s field %s is %r, not a plain decimal" % (key, name, fields.get(name)))
            if not whole_number.match(fields.get("timestamp", "")):
                problems.append("%s field timestamp is %r, not a whole number" % (key, fields.get("timestamp")))
            stored[key] = fields

        checked = 0
        for outcome in outcomes:
            if not outcome["accepted"]:
                if r.exists(outcome["key"]):
                    problems.append("%s exists although %r was refused" % (outcome["key"], outcome["input"]))
                continue
            value = stored.get(outcome["key"])
            if value is None:
                problems.append("%s missing although %r was accepted" % (outcome["key"], outcome["input"]))
                continue
            for step in re.findall(r"[^.\[\]]+", outcome["field"]):
                value = value[int(step)] if isinstance(value, list) else value[step]
            try:
                same = Decimal(str(value)) == Decimal(outcome["input"])
            except Exception:
                same = False
            if not same:
                problems.append("%s %s: %r was stored as %r" % (outcome["key"], outcome["field"], outcome["input"], value))
            checked += 1
        print(json.dumps({"checked": checked, "keys": len(stored), "problems": problems}))
        """#

    @Test func everyStoredNumberParsesStrictlyAndKeepsItsValue() throws {
        var outcomes: [Outcome] = []
        for field in Self.fields {
            for spelling in Self.spellings {
                // A string among the indicators is a string, stored as such: only numbers there.
                var forms = field.name.hasPrefix("indicators") ? [] : [(JSONValue.string(spelling).jsonText, true)]
                if case .number? = try? JSONParser.parse(Array(spelling.utf8)) { forms.append((spelling, false)) }
                for (value, asString) in forms {
                    let index = outcomes.count
                    let bytes = Array(field.event(value, index: index).utf8)
                    let result = field.family == .price ? harness.invoke(harness.prices, bytes: bytes) : harness.invoke(harness.signals, bytes: bytes)
                    var outcome = Outcome(
                        key: field.key(index: index), family: field.family.rawValue, field: field.name,
                        input: spelling, asString: asString, accepted: false, message: "")
                    switch result {
                    case .success(let answer):
                        outcome.accepted = true
                        #expect(answer["written"]?.numberLiteral == "1", "\(field.name) = \(value): \(answer.jsonText)")
                    case .failure(let error):
                        outcome.message = error.errorMessage
                        #expect(error.errorType == "Function.InvalidEvent", "\(field.name) = \(value): \(error)")
                        #expect(
                            error.errorMessage.hasPrefix(field.name + ":"), "\(field.name) = \(value): the refusal must name the field: \(error.errorMessage)")
                    }
                    outcomes.append(outcome)
                }
            }
        }
        let accepted = outcomes.filter(\.accepted)
        let verdict = try ServingLayerReader.run(
            try ServingLayerReader.python3(), ["python3", "-c", Self.reader, harness.server.host, String(harness.server.port)],
            input: try JSONEncoder().encode(outcomes))
        #expect(verdict.status == 0, "\(verdict.output)")
        let report = try JSONSerialization.jsonObject(with: Data(verdict.output.utf8)) as? [String: Any]
        #expect(report?["problems"] as? [String] == [], "\(verdict.output)")
        #expect(report?["checked"] as? Int == accepted.count)
        #expect(report?["keys"] as? Int == Set(accepted.map(\.key)).count)

        // The function's own read route parses what it stored (it answered 502 on `00.5`).
        let readEvent = String(decoding: try HandlerHarness.event("get-signal-apigw.json"), as: UTF8.self)
        for signal in accepted where signal.family == Family.signal.rawValue {
            let strategy = String(signal.key.split(separator: ":").last ?? "")
            let event = readEvent.replacingOccurrences(of: "AAPL/momentum", with: "S/\(strategy)")
                .replacingOccurrences(of: #""AAPL""#, with: #""S""#).replacingOccurrences(of: #""momentum""#, with: #""\#(strategy)""#)
            let read = harness.invoke(harness.signals, bytes: Array(event.utf8))
            #expect(read.http?.status == 200, "GET /signals/S/\(strategy) after \(signal.field) = \(signal.input): \(String(describing: read))")
        }

        func outcome(_ field: String, _ input: String, asString: Bool) -> Outcome? {
            outcomes.first { $0.field == field && $0.input == input && $0.asString == asString }
        }
        // Padding zeros are removed, not refused, wherever a number is taken from a string.
        for field in ["close", "volume", "confidence", "price"] {
            for input in ["00.5", "0001", "000"] {
                #expect(outcome(field, input, asString: true)?.accepted == true, "\(field) = \"\(input)\"")
            }
        }
        #expect(outcome("timestamp", "01697658000", asString: true)?.accepted == true)
        for field in ["confidence", "indicators.x", "indicators.deep[1]"] {
            #expect(outcome(field, "0.5e0", asString: false)?.accepted == true, "\(field) = 0.5e0")
            // A negative zero and values a double cannot hold are refused, never stored.
            for input in ["-0", "-0.0", "1E-400", "1e-324", "1e400"] {
                #expect(outcome(field, input, asString: false)?.accepted == false, "\(field) = \(input)")
            }
        }
        #expect(outcome("indicators.x", "-1e400", asString: false)?.accepted == false)
        #expect(outcome("indicators.x", "1.5e300", asString: false)?.accepted == true)
        #expect(outcome("indicators.x", "-2.5e-300", asString: false)?.accepted == true)
    }
}
