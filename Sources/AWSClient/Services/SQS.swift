import FoundationEssentials

public protocol SQSAPI: Sendable {
    /// Sends every body, in batches within SQS's limits; entries that fail for a passing reason
    /// are sent again, entries the queue rejects fail the call. Returns the message ids in order.
    @discardableResult
    func sendMessageBatch(queueUrl: String, bodies: [String]) async throws -> [String]
}

public struct SQSClient: SQSAPI {
    /// SQS's limits on one SendMessageBatch call.
    static let maxBatchEntries = 10
    static let maxBatchBytes = 262_144

    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    @discardableResult
    public func sendMessageBatch(queueUrl: String, bodies: [String]) async throws -> [String] {
        var messageIds: [String] = []
        messageIds.reserveCapacity(bodies.count)
        for batch in Self.batches(of: bodies) {
            messageIds += try await send(Array(bodies[batch]), to: queueUrl)
        }
        return messageIds
    }

    /// Index ranges of `bodies` that fit one call: at most 10 entries and 256 KiB together.
    static func batches(of bodies: [String]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var bytes = 0
        for (index, body) in bodies.enumerated() {
            let size = body.utf8.count
            if index > start && (index - start == maxBatchEntries || bytes + size > maxBatchBytes) {
                ranges.append(start..<index)
                start = index
                bytes = 0
            }
            bytes += size
        }
        if start < bodies.count { ranges.append(start..<bodies.count) }
        return ranges
    }

    /// One batch; entries that failed through no fault of ours go again (the retry policy's resend).
    private func send(_ bodies: [String], to queueUrl: String) async throws -> [String] {
        struct Entry: Encodable { let Id: String; let MessageBody: String }
        struct Input: Encodable { let QueueUrl: String; let Entries: [Entry] }
        struct Success: Decodable { let Id: String; let MessageId: String }
        struct Failure: Decodable { let Id: String; let SenderFault: Bool?; let Code: String; let Message: String? }
        struct Output: Decodable { let Successful: [Success]?; let Failed: [Failure]? }

        var messageIds = [String?](repeating: nil, count: bodies.count)
        let stuck = try await client.retryStrategy.resend(Array(bodies.indices)) { pending in
            let entries = pending.map { Entry(Id: String($0), MessageBody: bodies[$0]) }
            let output = try await client.json(.sqs, "SendMessageBatch", Input(QueueUrl: queueUrl, Entries: entries), as: Output.self)
            for success in output.Successful ?? [] {
                if let index = Int(success.Id) { messageIds[index] = success.MessageId }
            }
            let failures = output.Failed ?? []
            let rejected = failures.filter { $0.SenderFault ?? true }
            guard rejected.isEmpty else {
                throw SQSBatchError(queueUrl: queueUrl, failures: rejected.map { "entry \($0.Id): \($0.Code): \($0.Message ?? "")" })
            }
            return failures.compactMap { Int($0.Id) }
        }
        guard stuck.isEmpty else {
            throw SQSBatchError(queueUrl: queueUrl, failures: stuck.map { "entry \($0): still failing after \(client.retryStrategy.maxAttempts) attempts" })
        }
        return messageIds.map { $0 ?? "" }
    }
}

/// Entries SQS would not take.
public struct SQSBatchError: Error, CustomStringConvertible {
    public let queueUrl: String
    public let failures: [String]
    public var description: String { "SendMessageBatch to \(queueUrl) failed: \(failures.joined(separator: "; "))" }
}
