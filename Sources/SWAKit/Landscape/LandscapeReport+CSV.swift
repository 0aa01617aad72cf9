extension LandscapeReport {
    /// The points as CSV, one line each, in sweep order: `t,train_loss,train_error,test_error,test_nll`
    /// (line), `model,direction,t,...` (width), `a,b,...` (plane). Numbers as Swift prints a
    /// Double (shortest text that reads back to the same value).
    public var csv: String {
        let metricsHeader = "train_loss,train_error,test_error,test_nll"
        func metrics(_ point: LandscapePoint) -> String {
            "\(point.trainLoss),\(point.trainError),\(point.testError),\(point.testNLL)"
        }
        var lines: [String]
        switch kind {
        case "width":
            lines = ["model,direction,t," + metricsHeader]
            lines += points.map { "\(Self.csvField($0.model ?? "")),\($0.direction ?? 0),\($0.t ?? 0)," + metrics($0) }
        case "plane":
            lines = ["a,b," + metricsHeader]
            lines += points.map { "\($0.a ?? 0),\($0.b ?? 0)," + metrics($0) }
        default:
            lines = ["t," + metricsHeader]
            lines += points.map { "\($0.t ?? 0)," + metrics($0) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text`, quoted when it holds a comma, quote or line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
