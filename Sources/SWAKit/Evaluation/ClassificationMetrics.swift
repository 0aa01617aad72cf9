import Foundation
import RealModule

/// Accuracy, NLL, calibration and Brier score of class probabilities (docs/CLI.md, swa-eval).
public struct ClassificationMetrics: Sendable, Equatable, Codable {
    /// Fraction of samples whose top class is the label (ties go to the lowest class, as `argmax` does).
    public var accuracy: Double
    /// Mean −log p(label), in nats.
    public var nll: Double
    /// Expected calibration error over `bins` equal-width confidence bins: Σ |B|/N · |acc(B) − conf(B)|.
    public var ece: Double
    /// Mean Σ_c (p_c − 1[c = label])².
    public var brier: Double

    /// Bins of the ECE (Guo et al. 2017 use 15).
    public static let calibrationBins = 15

    /// Metrics already computed (a report read back, a curve known only in part).
    public init(accuracy: Double, nll: Double, ece: Double, brier: Double) {
        self.accuracy = accuracy
        self.nll = nll
        self.ece = ece
        self.brier = brier
    }

    /// Metrics of `probabilities` (`[samples, classes]`, rows summing to 1) against `labels`.
    /// - Parameter labelLogProbabilities: log p(label) per sample when known more precisely than
    ///   `log(p)` (a single model's log-softmax); the ensemble's are logs of averaged probabilities.
    public init(probabilities: [Double], classes: Int, labels: [Int64], labelLogProbabilities: [Double]? = nil) {
        self = MetricSums(probabilities: probabilities, classes: classes, labels: labels, labelLogProbabilities: labelLogProbabilities).metrics
    }
}

/// Softmax of one row of logits in Float64, and its log, computed stably (max subtracted).
/// - Returns: probabilities `[classes]` and log-probabilities `[classes]`.
public func softmax(logits: UnsafePointer<Float>, classes: Int) -> (probabilities: [Double], logProbabilities: [Double]) {
    var maximum = -Double.infinity
    for c in 0..<classes { maximum = max(maximum, Double(logits[c])) }
    var sum = 0.0
    for c in 0..<classes { sum += Double.exp(Double(logits[c]) - maximum) }
    let logSum = Double.log(sum)
    let logProbabilities = (0..<classes).map { Double(logits[$0]) - maximum - logSum }
    return (logProbabilities.map { Double.exp($0) }, logProbabilities)
}

/// Fraction of samples whose top classes agree between two probability tables `[samples, classes]`.
public func topClassAgreement(_ a: [Double], _ b: [Double], classes: Int) -> Double {
    let samples = a.count / max(classes, 1)
    guard samples > 0 else { return 0 }
    return Double(topClassAgreementCount(a, b, classes: classes)) / Double(samples)
}

/// Samples whose top classes agree between two probability tables `[samples, classes]`.
public func topClassAgreementCount(_ a: [Double], _ b: [Double], classes: Int) -> Int {
    precondition(a.count == b.count && classes > 0)
    let samples = a.count / classes
    func top(_ table: [Double], _ sample: Int) -> Int {
        var best = 0
        for c in 1..<classes where table[sample * classes + c] > table[sample * classes + best] { best = c }
        return best
    }
    return (0..<samples).filter { top(a, $0) == top(b, $0) }.count
}
