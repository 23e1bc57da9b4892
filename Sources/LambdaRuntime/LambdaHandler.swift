import FoundationEssentials
import Logging

/// A function's logic: decode the event, do the work, return something to encode.
///
/// One handler instance serves every invocation of a warm sandbox, so it must keep no state
/// between invocations that could go stale.
public protocol LambdaHandler: Sendable {
    associatedtype Event: Decodable
    associatedtype Output: Encodable

    func handle(_ event: Event, context: LambdaContext) async throws -> Output
}

/// What the Runtime API says about one invocation.
public struct LambdaContext: Sendable {
    public let requestId: String
    /// When Lambda stops the invocation, in milliseconds since the Unix epoch.
    public let deadlineMilliseconds: Int64
    public let invokedFunctionArn: String
    public let traceId: String?
    /// The raw JSON of the headers, when the invoker sent them.
    public let clientContext: String?
    public let cognitoIdentity: String?
    public let logger: Logger

    public init(
        requestId: String,
        deadlineMilliseconds: Int64,
        invokedFunctionArn: String,
        traceId: String? = nil,
        clientContext: String? = nil,
        cognitoIdentity: String? = nil,
        logger: Logger
    ) {
        self.requestId = requestId
        self.deadlineMilliseconds = deadlineMilliseconds
        self.invokedFunctionArn = invokedFunctionArn
        self.traceId = traceId
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.logger = logger
    }

    /// Time left before the deadline (negative once it has passed).
    public var remainingTime: Duration {
        let nowMilliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        return .milliseconds(deadlineMilliseconds - nowMilliseconds)
    }
}

/// What a handler factory gets during the init phase.
public struct LambdaInitContext: Sendable {
    public let environment: [String: String]
    public let logger: Logger
}
