import FoundationEssentials

/// An event LookupEvents returned; `cloudTrailEvent` is the record as CloudTrail wrote it (JSON).
public struct CloudTrailLookupEvent: Sendable {
    public let eventId: String
    public let eventName: String
    public let eventTime: AWSTimestamp
    public let cloudTrailEvent: String

    public init(eventId: String, eventName: String, eventTime: AWSTimestamp, cloudTrailEvent: String) {
        self.eventId = eventId
        self.eventName = eventName
        self.eventTime = eventTime
        self.cloudTrailEvent = cloudTrailEvent
    }
}

public enum LakeQueryStatus: String, Sendable, Decodable {
    case queued = "QUEUED", running = "RUNNING", finished = "FINISHED", failed = "FAILED"
    case cancelled = "CANCELLED", timedOut = "TIMED_OUT"
}

public struct LakeQueryResults: Sendable {
    public let status: LakeQueryStatus
    /// Each row as column name to value (CloudTrail Lake returns every value as a string).
    public let rows: [[String: String]]
    public let nextToken: String?
    public let errorMessage: String?

    public init(status: LakeQueryStatus, rows: [[String: String]], nextToken: String?, errorMessage: String?) {
        self.status = status
        self.rows = rows
        self.nextToken = nextToken
        self.errorMessage = errorMessage
    }
}

public protocol CloudTrailAPI: Sendable {
    /// Every event matching `attribute` (one of LookupEvents' keys, e.g. `EventName`) in the
    /// time range, newest first, page by page within the API's rate limit.
    func lookupEvents(attribute: (key: String, value: String)?, start: Date, end: Date) -> Paginator<CloudTrailLookupEvent, String>
    func startQuery(_ statement: String) async throws -> String
    func getQueryResults(_ queryId: String, nextToken: String?, maxResults: Int) async throws -> LakeQueryResults
}

public struct CloudTrailClient: CloudTrailAPI {
    let client: AWSClient
    /// LookupEvents allows 2 requests a second per account and region: pace them rather than
    /// lean on throttling errors, a tenth below the limit so that network jitter, which can
    /// bring two requests closer at the service than they left here, does not cross it.
    /// Every other reader in the account shares that limit (the other monitor, on the same
    /// schedule; a person in the console): a paced call rides out the throttling (AWSClient).
    let lookupRate: RateLimiter

    public init(client: AWSClient, lookupRate: RateLimiter = RateLimiter(perSecond: 1.8, adaptive: true)) {
        self.client = client
        self.lookupRate = lookupRate
    }

    public func lookupEvents(attribute: (key: String, value: String)?, start: Date, end: Date) -> Paginator<CloudTrailLookupEvent, String> {
        struct Attribute: Encodable { let AttributeKey: String; let AttributeValue: String }
        struct Input: Encodable {
            let LookupAttributes: [Attribute]?
            let StartTime: AWSTimestamp
            let EndTime: AWSTimestamp
            let MaxResults = 50
            let NextToken: String?
        }
        struct Event: Decodable { let EventId: String; let EventName: String; let EventTime: AWSTimestamp; let CloudTrailEvent: String }
        struct Output: Decodable { let Events: [Event]?; let NextToken: String? }
        let attributes = attribute.map { [Attribute(AttributeKey: $0.key, AttributeValue: $0.value)] }
        return Paginator("CloudTrail LookupEvents") { [client, lookupRate] token in
            let input = Input(LookupAttributes: attributes, StartTime: AWSTimestamp(start), EndTime: AWSTimestamp(end), NextToken: token)
            let page = try await client.json(.cloudTrail, "LookupEvents", input, as: Output.self, pacedBy: lookupRate)
            let events = (page.Events ?? []).map {
                CloudTrailLookupEvent(eventId: $0.EventId, eventName: $0.EventName, eventTime: $0.EventTime, cloudTrailEvent: $0.CloudTrailEvent)
            }
            return (events, page.NextToken)
        }
    }

    public func startQuery(_ statement: String) async throws -> String {
        struct Input: Encodable { let QueryStatement: String }
        struct Output: Decodable { let QueryId: String }
        return try await client.json(.cloudTrail, "StartQuery", Input(QueryStatement: statement), as: Output.self).QueryId
    }

    public func getQueryResults(_ queryId: String, nextToken: String?, maxResults: Int = 1000) async throws -> LakeQueryResults {
        struct Input: Encodable { let QueryId: String; let NextToken: String?; let MaxQueryResults: Int }
        struct Output: Decodable {
            let QueryStatus: LakeQueryStatus
            let QueryResultRows: [[[String: String]]]?
            let NextToken: String?
            let ErrorMessage: String?
        }
        let output = try await client.json(
            .cloudTrail, "GetQueryResults", Input(QueryId: queryId, NextToken: nextToken, MaxQueryResults: maxResults), as: Output.self)
        // A row is a list of one-entry maps, one per selected column.
        let rows = (output.QueryResultRows ?? []).map { columns in
            columns.reduce(into: [String: String]()) { row, column in row.merge(column) { first, _ in first } }
        }
        return LakeQueryResults(status: output.QueryStatus, rows: rows, nextToken: output.NextToken, errorMessage: output.ErrorMessage)
    }
}
