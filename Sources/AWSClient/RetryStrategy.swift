import FoundationEssentials
import HTTPTransport
import Synchronization

/// The one retry policy of every AWS call, the AWS SDKs' "standard" mode:
/// - throttling, HTTP 429, 500/502/503/504 and transient connection faults are retried; anything
///   else fails at once;
/// - `maxAttempts` attempts (3, or `AWS_MAX_ATTEMPTS`), except that a paced call (one with a rate
///   limiter: Identity Center, LookupEvents) that stays throttled gets `pacedThrottlingRounds`
///   times as many: its limit is shared with other callers, its limiter slows down meanwhile, and
///   failing a long read after three throttled answers would waste it;
/// - before each retry, exponential backoff with full jitter capped at `maxBackoff` (starting over
///   every `maxAttempts` for a paced, throttled call), or the service's `Retry-After` when longer;
/// - every retry draws on a quota shared by all requests of the client, so that a failing endpoint
///   is not hammered; batches whose entries fail one by one are resent under the same rules
///   (`resend`).
public struct RetryStrategy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxBackoff: Duration
    let sleeper: any Sleeper
    /// A random number in [0, 1): the jitter.
    let random: @Sendable () -> Double
    let quota: RetryQuota

    public init(
        maxAttempts: Int = 3,
        baseDelay: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(20),
        quotaCapacity: Int = 500,
        sleeper: any Sleeper = TaskSleeper(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
        self.sleeper = sleeper
        self.random = random
        self.quota = RetryQuota(capacity: quotaCapacity)
    }

    /// `AWS_MAX_ATTEMPTS`, as the SDKs read it, over the default of 3.
    public init(environment: [String: String]) throws(AWSConfigurationError) {
        guard let value = environment["AWS_MAX_ATTEMPTS"].nonEmpty else {
            self.init()
            return
        }
        guard let attempts = Int(value), (1...20).contains(attempts) else {
            throw AWSConfigurationError("AWS_MAX_ATTEMPTS must be a whole number from 1 to 20, not \(value)")
        }
        self.init(maxAttempts: attempts)
    }

    /// The delay before retry number `retry` (0 for the first retry): a random share of
    /// `min(baseDelay × 2^retry, maxBackoff)`.
    func backoff(beforeRetry retry: Int) -> Duration {
        let ceiling = min(baseDelay * (1 << min(retry, 30)), maxBackoff)
        return ceiling * random()
    }

    /// How many times a paced call's throttling may use up `maxAttempts`.
    static let pacedThrottlingRounds = 5
    /// The longest `Retry-After` honoured: a longer one is waited out this long, then retried.
    static let longestRetryAfter: Duration = .seconds(60)

    /// The attempts a call gets when it fails with `kind`.
    func attempts(for kind: RetryKind, paced: Bool) -> Int {
        kind == .throttling && paced ? maxAttempts * Self.pacedThrottlingRounds : maxAttempts
    }

    /// Runs `attempt` until it succeeds, fails in a way no retry mends, or runs out of attempts
    /// or of quota. `onRetry` hears of each retry (its number, of how many) before its backoff.
    func run<Output>(
        paced: Bool = false,
        _ attempt: () async throws -> Output,
        onRetry: (_ error: any Error, _ nextAttempt: Int, _ attempts: Int, _ delay: Duration) -> Void = { _, _, _, _ in }
    ) async throws -> Output {
        var heldCost: Int?
        var attemptNumber = 1
        while true {
            do {
                let output = try await attempt()
                quota.release(heldCost)
                return output
            } catch {
                guard let kind = RetryKind(error), attemptNumber < attempts(for: kind, paced: paced), let cost = quota.acquire(kind) else {
                    throw error
                }
                heldCost = cost
                let backoff = backoff(beforeRetry: (attemptNumber - 1) % maxAttempts)
                let delay = max(backoff, min((error as? AWSServiceError)?.retryAfter ?? .zero, Self.longestRetryAfter))
                attemptNumber += 1
                onRetry(error, attemptNumber, attempts(for: kind, paced: paced), delay)
                try await sleeper.sleep(for: delay)
            }
        }
    }
}

extension RetryStrategy {
    /// Sends a batch whose entries succeed or fail one by one (SQS SendMessageBatch, Security Hub
    /// BatchImportFindings). `send` sends the entries given and returns those that failed for a
    /// passing reason; they go again after the usual backoff, drawing on the same quota as a
    /// whole request's retries, for at most `maxAttempts` sends in all. Returns the entries still
    /// failing when the attempts or the quota ran out: none when every entry went.
    func resend<Entry: Sendable>(_ entries: [Entry], _ send: ([Entry]) async throws -> [Entry]) async throws -> [Entry] {
        var pending = entries
        var heldCost: Int?
        for attempt in 1...maxAttempts {
            pending = try await send(pending)
            if pending.isEmpty {
                quota.release(heldCost)
                return []
            }
            guard attempt < maxAttempts, let cost = quota.acquire(.transient) else { break }
            heldCost = cost
            try await sleeper.sleep(for: backoff(beforeRetry: attempt - 1))
        }
        return pending
    }
}

/// Whether `error` is throttling or a transient fault, which the retry policy retries: the caller
/// of a failed batch item may try it again later (an SQS message left on its queue).
public func isRetryableFailure(_ error: any Error) -> Bool {
    RetryKind(error) != nil
}

/// Why a failed attempt may be tried again; nil when it may not.
enum RetryKind {
    case throttling
    case transient
    case timeout

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    static let transientCodes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure"]
    /// What a batch answers for an entry that failed through the service's own fault
    /// (Security Hub's FailedFindings): the entry may go again, as a throttled one may.
    static let transientEntryCodes: Set<String> = ["InternalException", "InternalError", "ServiceUnavailable"]

    /// Whether a batch entry that failed with `code` may be sent again (`RetryStrategy.resend`).
    static func isPassing(entryErrorCode code: String) -> Bool {
        transientEntryCodes.contains(code) || throttlingCodes.contains(code)
    }
    static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    init?(_ error: any Error) {
        switch error {
        case let error as AWSServiceError:
            if Self.throttlingCodes.contains(error.code) || error.httpStatus == 429 {
                self = .throttling
            } else if Self.transientCodes.contains(error.code) || Self.transientStatuses.contains(error.httpStatus) {
                self = .transient
            } else {
                return nil
            }
        case let error as HTTPTransportError where error.isTransient:
            self = error.kind == .timeout ? .timeout : .transient
        default:
            return nil
        }
    }
}

/// The token bucket that bounds retries (the SDKs' retry quota): each retry takes tokens, a
/// success returns them, so when an endpoint keeps failing, retries stop before it is hammered.
final class RetryQuota: Sendable {
    static let retryCost = 5
    static let timeoutCost = 10
    static let successRefill = 1

    private let capacity: Int
    private let available: Mutex<Int>

    init(capacity: Int) {
        self.capacity = capacity
        self.available = Mutex(capacity)
    }

    var tokens: Int { available.withLock { $0 } }

    /// The tokens taken for this retry; nil when the quota is spent.
    func acquire(_ kind: RetryKind) -> Int? {
        let cost = kind == .timeout ? Self.timeoutCost : Self.retryCost
        return available.withLock { tokens in
            guard tokens >= cost else { return nil }
            tokens -= cost
            return cost
        }
    }

    /// After a success: the last retry's tokens back, or a small refill when there was no retry.
    func release(_ heldCost: Int?) {
        available.withLock { tokens in
            tokens = min(capacity, tokens + (heldCost ?? Self.successRefill))
        }
    }
}

/// Waits between attempts; tests inject one that records instead of sleeping.
public protocol Sleeper: Sendable {
    func sleep(for duration: Duration) async throws
}

public struct TaskSleeper: Sleeper {
    public init() {}
    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
