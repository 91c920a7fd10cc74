import Foundation

/// Events for the cluster runs: batches of price updates for many symbols (so they spread over
/// every shard), shaped as Lambda delivers them, and the API Gateway reads.
enum ClusterEvents {
    struct Update {
        let symbol: String
        let timestamp: Int
        var close: String { "\(100 + timestamp % 1000).25" }

        var fields: [String: String] {
            [
                "symbol": symbol, "close": close, "open": "99.50", "high": "1500.00", "low": "1.00",
                "volume": "\(timestamp)", "timestamp": String(timestamp),
            ]
        }

        /// The hash as stored: the update's fields without `symbol`, `source` defaulted.
        var storedHash: [String: String] {
            var hash = fields
            hash["symbol"] = nil
            hash["source"] = "speed_layer"
            return hash
        }
    }

    static func updates(prefix: String, count: Int = 100, timestamp: Int) -> [Update] {
        (0..<count).map { Update(symbol: "\(prefix)\(String(format: "%03d", $0))", timestamp: timestamp) }
    }

    static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    static func direct(_ updates: [Update]) -> String {
        json(["prices": updates.map(\.fields)])
    }

    static func kinesisSequence(_ index: Int, _ update: Update) -> String {
        "49545115241445821800625932442\(String(format: "%05d", index))\(update.timestamp)"
    }

    static func kinesis(_ updates: [Update]) -> String {
        json([
            "Records": updates.enumerated().map { index, update in
                [
                    "kinesis": [
                        "kinesisSchemaVersion": "1.0", "partitionKey": update.symbol,
                        "sequenceNumber": kinesisSequence(index, update),
                        "data": Data(json(update.fields).utf8).base64EncodedString(),
                        "approximateArrivalTimestamp": 1_697_658_000.123,
                    ],
                    "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventName": "aws:kinesis:record",
                    "eventID": "shardId-000000000000:\(kinesisSequence(index, update))",
                    "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/prices",
                ]
            }
        ])
    }

    static func sqs(_ updates: [Update]) -> String {
        json([
            "Records": updates.enumerated().map { index, update in
                [
                    "messageId": "message-\(index)-\(update.symbol)", "receiptHandle": "handle",
                    "body": json(update.fields), "attributes": ["ApproximateReceiveCount": "1"],
                    "messageAttributes": [:] as [String: String], "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:prices", "awsRegion": "us-east-1",
                ]
            }
        ])
    }

    /// `user`: the end user a JWT authorizer authenticated (the session routes serve only their own user).
    static func http(_ method: String, _ path: String, query: [String: String] = [:], body: String? = nil, user: String? = nil) -> String {
        var event: [String: Any] = [
            "version": "2.0", "routeKey": "\(method) \(path)", "rawPath": path,
            "rawQueryString": query.map { "\($0.key)=\($0.value)" }.joined(separator: "&"),
            "headers": ["content-type": "application/json"],
            "requestContext": [
                "accountId": "123456789012", "apiId": "abc123", "requestId": "request",
                "http": ["method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"],
                "stage": "$default", "timeEpoch": 1_697_658_000_000,
            ],
            "isBase64Encoded": false,
        ]
        if let user, var context = event["requestContext"] as? [String: Any] {
            context["authorizer"] = ["jwt": ["claims": ["sub": user], "scopes": [] as [String]]]
            event["requestContext"] = context
        }
        if !query.isEmpty { event["queryStringParameters"] = query }
        if let body { event["body"] = body }
        return json(event)
    }
}

extension ScriptedRuntimeAPI.Answer {
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// A partial batch response's failed item identifiers (nil when the answer is not one).
    var failedItems: [String]? {
        (json?["batchItemFailures"] as? [[String: Any]])?.compactMap { $0["itemIdentifier"] as? String }
    }

    /// An API Gateway answer's status and parsed body.
    var http: (status: Int, body: [String: Any])? {
        guard let json, let status = json["statusCode"] as? Int, let text = json["body"] as? String,
            let body = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        else { return nil }
        return (status, body)
    }
}
