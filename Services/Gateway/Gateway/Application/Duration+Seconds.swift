import Foundation

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
