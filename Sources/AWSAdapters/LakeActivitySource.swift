import AWSClient
import Compliance
import FoundationEssentials

/// CloudTrail Lake: one SQL query per kind of evidence and span, bounded on `eventTime` (Lake bills by
/// data scanned), polled until it finishes or the deadline nears, read 1000 rows a call.
public struct LakeActivitySource: ActivitySource {
    let cloudTrail: any CloudTrailAPI
    let eventDataStore: EventDataStoreId
    let sleeper: any Sleeper
    let pollInterval: Duration

    public init(cloudTrail: any CloudTrailAPI, eventDataStore: EventDataStoreId, sleeper: any Sleeper = TaskSleeper(), pollInterval: Duration = .seconds(1)) {
        self.cloudTrail = cloudTrail
        self.eventDataStore = eventDataStore
        self.sleeper = sleeper
        self.pollInterval = pollInterval
    }

    public var name: String { "lake" }

    /// One query reads every event name of a kind of evidence.
    public func streams(of eventNames: [String]) -> [[String]] {
        [Set(eventNames).sorted()]
    }

    /// The whole window in one query (a query that outlives the deadline is an error), handed
    /// over as one page, newest first.
    public func read(_ stream: [String], from start: Date, to end: Date, deadline: Date?, page: ([ActivityEvent]) async throws -> Void)
        async throws -> Bool
    {
        let found = try await queryEvents(named: stream, from: start, to: end, deadline: deadline)
        try await page(found.sorted { $0.eventTime > $1.eventTime })
        return true
    }

    func statement(eventNames: [String], from start: Date, to end: Date) -> String {
        // Every value below is ours (fixed event names, formatted dates, the checked store id).
        let names = eventNames.map { "'\($0)'" }.joined(separator: ", ")
        return """
            SELECT eventSource, eventName, eventTime, errorCode, \
            userIdentity.onBehalfOf.userId AS onBehalfOfUserId, userIdentity.userName AS identityUserName, \
            element_at(additionalEventData, 'UserName') AS additionalUserName, \
            element_at(requestParameters, 'userId') AS requestUserId, \
            serviceEventDetails \
            FROM \(eventDataStore.id) \
            WHERE eventTime >= '\(Self.sqlTimestamp(start))' AND eventTime <= '\(Self.sqlTimestamp(end))' \
            AND eventName IN (\(names))
            """
    }

    func queryEvents(named names: [String], from start: Date, to end: Date, deadline: Date?) async throws -> [ActivityEvent] {
        let rows = try await LakeQuery(cloudTrail: cloudTrail, sleeper: sleeper, pollInterval: pollInterval)
            .run(statement(eventNames: names, from: start, to: end), deadline: deadline)
        return rows.compactMap { row in
            guard let source = row["eventSource"], let name = row["eventName"],
                let time = row["eventTime"].flatMap(Self.parseTimestamp)
            else { return nil }
            let details = row["serviceEventDetails"].map(LakeMap.parse) ?? [:]
            return ActivityEvent(
                eventSource: source, eventName: name, eventTime: time, errorCode: row["errorCode"].nonEmpty,
                onBehalfOfUserId: row["onBehalfOfUserId"].nonEmpty, identityUserName: row["identityUserName"].nonEmpty,
                additionalUserName: row["additionalUserName"].nonEmpty, requestUserId: row["requestUserId"].nonEmpty,
                serviceEventDetails: details)
        }
    }

    /// `2026-07-01 10:00:00`, the literal Lake compares `eventTime` with.
    static func sqlTimestamp(_ date: Date) -> String {
        ISO8601UTC.format(date).replacing("T", with: " ").replacing("Z", with: "")
    }

    /// Lake returns `2026-07-01 10:00:00.000`; ISO 8601 is accepted too.
    static func parseTimestamp(_ text: String) -> Date? {
        if let date = ISO8601UTC.parse(text) { return date }
        return ISO8601UTC.parse(text.replacing(" ", with: "T") + "Z")
    }
}

/// A map column as Lake renders it in results: JSON (`{"role_name":"Admin"}`) in current rows,
/// `{role_name=Admin, account_id=111122223333}` in older ones.
enum LakeMap {
    static func parse(_ text: String) -> [String: String] {
        let trimmed = text.trimmingWhitespace
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}"), trimmed.count > 2 else { return [:] }
        if let json = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)), case .object(let members) = json {
            return members.compactMapValues { value in
                switch value {
                case .string(let text): text
                case .number(let number): number == number.rounded() ? String(Int64(number)) : String(number)
                case .bool(let flag): String(flag)
                default: nil
                }
            }
        }
        return parseKeyValues(trimmed.dropFirst().dropLast())
    }

    /// `k1=v1, k2=v2`: an entry starts after ", " only where a key and "=" follow, because a value
    /// may hold a comma (a permission set may be named `CR,Ops`) but never ", key=".
    private static func parseKeyValues(_ body: Substring) -> [String: String] {
        var map: [String: String] = [:]
        var entryStart = body.startIndex
        var index = body.startIndex
        func addEntry(upTo end: String.Index) {
            let entry = body[entryStart..<end]
            guard let equals = entry.firstIndex(of: "=") else { return }
            map[String(entry[..<equals]).trimmingWhitespace] = String(entry[entry.index(after: equals)...])
        }
        while index < body.endIndex {
            if body[index...].hasPrefix(", "), startsWithKey(body[body.index(index, offsetBy: 2)...]) {
                addEntry(upTo: index)
                entryStart = body.index(index, offsetBy: 2)
                index = entryStart
            } else {
                index = body.index(after: index)
            }
        }
        addEntry(upTo: body.endIndex)
        return map
    }

    private static func startsWithKey(_ text: Substring) -> Bool {
        guard let equals = text.firstIndex(of: "="), equals > text.startIndex else { return false }
        return text[..<equals].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}

/// Runs one Lake query to completion.
struct LakeQuery {
    let cloudTrail: any CloudTrailAPI
    let sleeper: any Sleeper
    let pollInterval: Duration

    func run(_ statement: String, deadline: Date?) async throws -> [LakeRow] {
        let queryId = try await cloudTrail.startQuery(statement)
        var page = try await cloudTrail.getQueryResults(queryId, nextToken: nil, maxResults: 1000)
        while page.status == .queued || page.status == .running {
            if let deadline, Date() >= deadline {
                throw LakeQueryError(queryId: queryId, status: page.status, message: "still \(page.status.rawValue) when the invocation's time ran out")
            }
            try await sleeper.sleep(for: pollInterval)
            page = try await cloudTrail.getQueryResults(queryId, nextToken: nil, maxResults: 1000)
        }
        guard page.status == .finished else {
            throw LakeQueryError(queryId: queryId, status: page.status, message: page.errorMessage ?? "no message from CloudTrail")
        }
        var rows = page.rows.map(LakeRow.init)
        while let token = page.nextToken {
            page = try await cloudTrail.getQueryResults(queryId, nextToken: token, maxResults: 1000)
            rows += page.rows.map(LakeRow.init)
        }
        return rows
    }
}

/// One result row, read by column name whatever its case: Trino, which Lake runs on, lowercases
/// the names of result columns, aliases included (`AS onBehalfOfUserId` comes back as
/// `onbehalfofuserid`), so a lookup by the name as written would find nothing.
struct LakeRow {
    private let cells: [String: String]

    init(_ cells: [String: String]) {
        self.cells = Dictionary(cells.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
    }

    subscript(column: String) -> String? { cells[column.lowercased()] }
}

/// A Lake query that failed, was cancelled, timed out, or outlived the invocation.
public struct LakeQueryError: Error, CustomStringConvertible {
    public let queryId: String
    public let status: LakeQueryStatus
    public let message: String
    public var description: String { "CloudTrail Lake query \(queryId) \(status.rawValue): \(message)" }
}
