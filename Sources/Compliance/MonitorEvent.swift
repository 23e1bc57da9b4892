import FoundationEssentials

/// What a monitor is invoked with: a run (a judging run or a catch-up), or evidence as it
/// happens — one EventBridge event carrying a CloudTrail record, or an SQS batch of them.
public enum MonitorEvent: Sendable, Decodable {
    case run(RunRequest)
    case evidence(CloudTrailRecord)
    case queued([QueuedMessage])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        if container.contains("Records") {
            self = .queued(try container.decode([QueuedMessage].self, forKey: "Records"))
        } else if let type = try container.decodeIfPresent(String.self, forKey: "detail-type"), type != "Scheduled Event" {
            // Sign-ins arrive as "AWS Service Event via CloudTrail", password changes as "AWS API Call via CloudTrail".
            self = .evidence(try container.decode(CloudTrailRecord.self, forKey: "detail"))
        } else {
            self = .run(try RunRequest(from: decoder))
        }
    }
}

/// One message of a batch Lambda delivers from an SQS queue. Its body is read on its own, so
/// that one bad message fails alone.
public struct QueuedMessage: Sendable, Decodable {
    public let messageId: String
    public let body: String

    public init(messageId: String, body: String) {
        self.messageId = messageId
        self.body = body
    }

    /// The CloudTrail record of the EventBridge event the body holds.
    func record() throws -> CloudTrailRecord {
        struct Envelope: Decodable { let detail: CloudTrailRecord }
        return try JSONDecoder().decode(Envelope.self, from: Data(body.utf8)).detail
    }
}

/// What a monitor answers: a run's summary, what one event did, or the messages of a batch
/// that were not done (Lambda's partial batch response: only those go back to the queue).
public enum MonitorResponse: Sendable, Encodable, Equatable {
    case summary(MonitorSummary)
    case evidence(EvidenceSummary)
    case batch(BatchResponse)

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .summary(let summary): try summary.encode(to: encoder)
        case .evidence(let evidence): try evidence.encode(to: encoder)
        case .batch(let batch): try batch.encode(to: encoder)
        }
    }
}

/// What evidence as it happens did: dates moved later, events that changed nothing (a replay,
/// an older event, a user the registry does not hold), events that are no evidence here.
public struct EvidenceSummary: Sendable, Encodable, Equatable {
    public var recorded = 0
    public var unchanged = 0
    public var ignored = 0
}

public struct BatchResponse: Sendable, Encodable, Equatable {
    public struct Failure: Sendable, Encodable, Equatable {
        public let itemIdentifier: String
    }

    public let batchItemFailures: [Failure]
}
