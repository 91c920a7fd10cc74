@testable import HandlerCore
import LambdaEvents

extension InvocationMetrics {
    /// The same metrics as an `EMFMetricLine` value, built member by member: what the tests read
    /// and what `lineBytes` (written from a layout made once) must equal byte for byte.
    func line(_ labels: MetricLabels) -> EMFMetricLine {
        EMFMetricLine(
            namespace: Self.namespace,
            dimensions: [(Self.dimensionName, labels.functionName)],
            metrics: zip(Self.definitions, values).map { EMFMetricLine.Metric($0.name, unit: $0.unit, value: $1) },
            properties: zip(Self.propertyNames, [eventSource, labels.requestID]).map { JSONMember($0, .string($1)) },
            timestampMilliseconds: labels.timestampMilliseconds
        )
    }
}
