/// Spaces calls evenly at a rate shared by every task that uses it, so a client stays within a
/// service's request limit instead of leaning on throttling errors.
///
/// An adaptive limiter also learns: a throttling answer cuts the rate (×0.7), each success
/// wins a little of it back, up to the configured ceiling — additive increase, multiplicative
/// decrease, as TCP does.
public actor RateLimiter {
    public let maximumRate: Double
    public private(set) var rate: Double
    private let adaptive: Bool
    private let clock = ContinuousClock()
    private var nextSlot: ContinuousClock.Instant

    public init(perSecond rate: Double, adaptive: Bool = false) {
        precondition(rate > 0, "a rate limit must be positive")
        self.maximumRate = rate
        self.rate = rate
        self.adaptive = adaptive
        self.nextSlot = ContinuousClock().now
    }

    /// Returns when the caller's turn has come.
    public func waitForTurn() async throws {
        let now = clock.now
        let slot = max(now, nextSlot)
        nextSlot = slot + .seconds(1 / rate)
        if slot > now { try await clock.sleep(until: slot) }
    }

    func didThrottle() {
        guard adaptive else { return }
        rate = max(maximumRate * 0.05, rate * 0.7)
    }

    func didSucceed() {
        guard adaptive, rate < maximumRate else { return }
        rate = min(maximumRate, rate + maximumRate * 0.02)
    }
}
