@testable import AWSAdapters
import AWSClient
@testable import Compliance
import Foundation
import Logging
import Synchronization
import Testing

/// A Lake that answers RUNNING a set number of times, then FINISHED with pages of rows.
final class ScriptedLake: CloudTrailAPI {
    let runningPolls: Int
    let finalStatus: LakeQueryStatus
    let pages: [[[String: String]]]
    let statements = Mutex<[String]>([])
    let calls = Mutex(0)
    let pageSizes = Mutex<[Int]>([])

    init(runningPolls: Int, finalStatus: LakeQueryStatus = .finished, pages: [[[String: String]]] = [[]]) {
        self.runningPolls = runningPolls
        self.finalStatus = finalStatus
        self.pages = pages
    }

    func lookupEvents(attribute: (key: String, value: String)?, start: Date, end: Date) -> Paginator<CloudTrailLookupEvent, String> {
        Paginator("unused") { _ in ([], nil) }
    }
    func startQuery(_ statement: String) async throws -> String {
        statements.withLock { $0.append(statement) }
        return "q-1"
    }
    func getQueryResults(_ queryId: String, nextToken: String?, maxResults: Int) async throws -> LakeQueryResults {
        let call = calls.withLock { $0 += 1; return $0 }
        pageSizes.withLock { $0.append(maxResults) }
        if call <= runningPolls { return LakeQueryResults(status: .running, rows: [], nextToken: nil, errorMessage: nil) }
        guard finalStatus == .finished else {
            return LakeQueryResults(status: finalStatus, rows: [], nextToken: nil, errorMessage: "Query exceeded the time limit")
        }
        let index = Int(nextToken ?? "0")!
        return LakeQueryResults(status: .finished, rows: pages[index], nextToken: index + 1 < pages.count ? String(index + 1) : nil, errorMessage: nil)
    }
}

struct NoSleep: Sleeper { func sleep(for duration: Duration) async throws {} }

/// A read the deadline stopped, in these tests' helpers below.
struct StoppedRead: Error {
    let stream: [String]
    let eventsRead: Int
}

extension ActivitySource {
    /// Every event of `eventNames` in the window, or the error of a read the deadline stopped.
    func events(_ eventNames: [String], from start: Date, to end: Date, deadline: Date?) async throws -> [ActivityEvent] {
        var events: [ActivityEvent] = []
        for stream in streams(of: eventNames) {
            let finished = try await read(stream, from: start, to: end, deadline: deadline) { events += $0 }
            guard finished else { throw StoppedRead(stream: stream, eventsRead: events.count) }
        }
        return events
    }
}

func signIns(_ source: any ActivitySource, from start: Date, to end: Date, deadline: Date?) async throws -> [UserActivity] {
    try await source.events(ActivityRules.eventNames(of: .signIn), from: start, to: end, deadline: deadline).compactMap(ActivityRules.signIn)
}

func passwordChanges(_ source: any ActivitySource, from start: Date, to end: Date, deadline: Date?) async throws -> [UserActivity] {
    try await source.events(ActivityRules.eventNames(of: .passwordChange), from: start, to: end, deadline: deadline)
        .compactMap(ActivityRules.passwordChange)
}

@Suite struct LakeTests {
    let storeId = try! EventDataStoreId("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-f852-4e8f-8bd1")

    @Test func eventDataStoreIdsAreCheckedBeforeTheyReachSQL() throws {
        #expect(storeId.id == "EXAMPLE-f852-4e8f-8bd1")
        #expect(try EventDataStoreId("eds-rig-0000000001").id == "eds-rig-0000000001")
        for hostile in ["x; DROP TABLE y", "a' OR '1'='1", "", "arn:aws:s3:::bucket/x", "name with space"] {
            #expect(throws: ConfigurationError.self, "\(hostile)") { try EventDataStoreId(hostile) }
        }
    }

    @Test func queryIsBoundedOnEventTimeAndPolledUntilFinishedThenPaged() async throws {
        let row = ["eventSource": "signin.amazonaws.com", "eventName": "CredentialVerification", "eventTime": "2026-11-01 10:00:00.000",
                   "onBehalfOfUserId": "id-1", "serviceEventDetails": #"{"CredentialVerification":"Success"}"#, "errorCode": ""]
        let failedRow = row.merging(["serviceEventDetails": "{CredentialVerification=Failure}", "onBehalfOfUserId": "id-2"]) { $1 }
        let lake = ScriptedLake(runningPolls: 2, pages: [[row], [failedRow]])
        let source = LakeActivitySource(cloudTrail: lake, eventDataStore: storeId, sleeper: NoSleep())

        let signIns = try await signIns(source, from: date("2026-08-23T06:00:00Z"), to: date("2026-11-21T06:00:00Z"), deadline: nil)

        #expect(signIns == [UserActivity(userId: "id-1", userName: nil, time: date("2026-11-01T10:00:00Z"))])
        #expect(lake.calls.withLock { $0 } == 4, "two RUNNING polls, then two pages")
        #expect(lake.pageSizes.withLock { $0 } == [1000, 1000, 1000, 1000], "pages of up to 1000 rows, not one row a call")
        let statement = try #require(lake.statements.withLock { $0.first })
        #expect(statement.contains("FROM EXAMPLE-f852-4e8f-8bd1 "))
        #expect(statement.contains("eventTime >= '2026-08-23 06:00:00' AND eventTime <= '2026-11-21 06:00:00'"))
    }

    @Test func columnsAreFoundWhateverTheirCaseAsTrinoLowercasesThem() async throws {
        let rows = [
            ["eventsource": "signin.amazonaws.com", "eventname": "UserAuthentication", "eventtime": "2026-11-01 10:00:00.000",
             "onbehalfofuserid": "id-1", "serviceeventdetails": #"{"UserAuthentication":"Success"}"#],
            ["eventsource": "signin.amazonaws.com", "eventname": "UserAuthentication", "eventtime": "2026-11-02 10:00:00.000",
             "identityusername": "olduser", "serviceeventdetails": #"{"UserAuthentication":"Success"}"#],
        ]
        let source = LakeActivitySource(cloudTrail: ScriptedLake(runningPolls: 0, pages: [rows]), eventDataStore: storeId, sleeper: NoSleep())

        let signIns = try await signIns(source, from: date("2026-08-23T06:00:00Z"), to: date("2026-11-21T06:00:00Z"), deadline: nil)

        #expect(signIns == [
            UserActivity(userId: nil, userName: "olduser", time: date("2026-11-02T10:00:00Z")),
            UserActivity(userId: "id-1", userName: nil, time: date("2026-11-01T10:00:00Z")),
        ], "newest first")
    }

    @Test func queryStillRunningAtTheDeadlineIsAClearError() async throws {
        let lake = ScriptedLake(runningPolls: .max)
        let source = LakeActivitySource(cloudTrail: lake, eventDataStore: storeId, sleeper: NoSleep())
        let error = await #expect(throws: LakeQueryError.self) {
            try await signIns(source, from: date("2026-08-23T06:00:00Z"), to: date("2026-11-21T06:00:00Z"), deadline: Date())
        }
        #expect(error?.description.contains("still RUNNING when the invocation's time ran out") == true)
    }

    @Test(arguments: [LakeQueryStatus.failed, .cancelled, .timedOut])
    func aQueryThatDidNotFinishCarriesTheServicesMessage(_ status: LakeQueryStatus) async throws {
        let source = LakeActivitySource(cloudTrail: ScriptedLake(runningPolls: 1, finalStatus: status), eventDataStore: storeId, sleeper: NoSleep())
        let error = await #expect(throws: LakeQueryError.self) {
            try await passwordChanges(source, from: date("2026-08-23T06:00:00Z"), to: date("2026-11-21T06:00:00Z"), deadline: nil)
        }
        #expect(error?.description == "CloudTrail Lake query q-1 \(status.rawValue): Query exceeded the time limit")
    }
}

@Suite struct LakeMapTests {
    @Test func readsBothRenderingsOfAMapColumn() {
        #expect(LakeMap.parse(#"{"role_name":"AdministratorAccess","account_id":"111122223333"}"#) == ["role_name": "AdministratorAccess", "account_id": "111122223333"])
        #expect(LakeMap.parse("{role_name=ReadOnly, account_id=444455556666}") == ["role_name": "ReadOnly", "account_id": "444455556666"])
        #expect(LakeMap.parse("{role_name=CR,Ops-x, account_id=503533403457}") == ["role_name": "CR,Ops-x", "account_id": "503533403457"],
                "a permission set name may hold a comma")
        #expect(LakeMap.parse("{role_name=a=b, account_id=1}") == ["role_name": "a=b", "account_id": "1"])
        #expect(LakeMap.parse("") == [:])
        #expect(LakeMap.parse("{}") == [:])
    }
}

@Suite struct ConfigurationTests {
    let base = ["REGISTRY_TABLE": "t", "ACTIVITY_TABLE": "a", "IDENTITY_STORE_ID": "d-1234567890", "ALERT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"]

    func error(_ environment: [String: String], _ control: Control = .passwordExpiry) -> String? {
        do {
            _ = try MonitorConfiguration(control: control, environment: environment)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func defaultsFollowTheDesign() throws {
        let configuration = try MonitorConfiguration(control: .inactivity, environment: base)
        #expect((configuration.thresholdDays, configuration.warningDays) == (90, 14))
        #expect(configuration.activitySource == .lookupEvents)
        #expect(configuration.excludedUsers.isEmpty)
    }

    @Test func missingOrMalformedSettingsSayWhich() {
        #expect(error(base.filter { $0.key != "REGISTRY_TABLE" }) == "REGISTRY_TABLE is not set")
        #expect(error(base.merging(["IDENTITY_STORE_ID": "store-1"]) { $1 })?.contains("IDENTITY_STORE_ID must look like d-1234567890") == true)
        #expect(error(base.merging(["PASSWORD_MAX_AGE_DAYS": "0"]) { $1 })?.contains("PASSWORD_MAX_AGE_DAYS must be a whole number from 1 to 365") == true)
        #expect(error(base.merging(["INACTIVITY_MAX_DAYS": "30", "WARNING_DAYS": "30"]) { $1 }, .inactivity)?.contains("WARNING_DAYS (30) must be less than INACTIVITY_MAX_DAYS (30)") == true)
        #expect(error(base.merging(["ACTIVITY_SOURCE": "lake"]) { $1 }) == "ACTIVITY_SOURCE=lake needs CLOUDTRAIL_LAKE_EVENT_DATA_STORE")
        #expect(error(base.merging(["ACTIVITY_SOURCE": "athena"]) { $1 })?.contains("lookup-events or lake") == true)
        #expect(error(base.merging(["ALERT_QUEUE_URL": "queue"]) { $1 })?.contains("ALERT_QUEUE_URL must be an http(s) URL") == true)
        #expect(error(base.merging(["ALERT_TOPIC_ARN": "arn:aws:sqs:us-east-1:123456789012:alerts"]) { $1 })?.contains("must be an SNS topic ARN") == true)
        #expect(error(base.merging(["ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts.fifo"]) { $1 })?.contains("FIFO topic") == true)
        #expect(error(base.merging(["ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts"]) { $1 }) == nil)
        #expect(error(base.merging(["FINDINGS": "guardduty"]) { $1 })?.contains("FINDINGS must be none or securityhub") == true)
        #expect(throws: ConfigurationError.self) { try RegistryCleanerConfiguration(environment: ["REGISTRY_TABLE": "t", "IDENTITY_STORE_ID": "d-1234567890", "RECONCILE_MAX_REMOVE_PERCENT": "101"]) }
        #expect(IdentityStoreIdPattern.matches("12345678-1234-1234-1234-123456789abc"))
    }

    @Test func monitorRequestsFromSchedulesSSMAndByHand() throws {
        let scheduled = try decodeEvent(#"{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#, as: RunRequest.self)
        #expect(!scheduled.dryRun && scheduled.asOf == nil)
        let manual = try decodeEvent(#"{"dryRun": true, "asOf": "2026-07-01T10:00:00Z"}"#, as: RunRequest.self)
        #expect(manual.dryRun && manual.asOf == date("2026-07-01T10:00:00Z"))
        #expect(throws: DecodingError.self) { try decodeEvent(#"{"asOf": "last tuesday"}"#, as: RunRequest.self) }
        #expect(throws: DecodingError.self) { try decodeEvent(#"{"dryRun": "yes"}"#, as: RunRequest.self) }
    }
}

/// LookupEvents with more pages than any invocation can read.
struct EndlessTrail: CloudTrailAPI {
    func lookupEvents(attribute: (key: String, value: String)?, start: Date, end: Date) -> Paginator<CloudTrailLookupEvent, String> {
        Paginator("LookupEvents") { token in
            let page = Int(token ?? "0")!
            let record = """
                {"eventTime":"2026-11-20T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"UserAuthentication",
                 "userIdentity":{"onBehalfOf":{"userId":"u-\(page)"}}}
                """
            return ([CloudTrailLookupEvent(eventId: "e\(page)", eventName: "UserAuthentication", eventTime: AWSTimestamp(Date()), cloudTrailEvent: record)], String(page + 1))
        }
    }
    func startQuery(_ statement: String) async throws -> String { "" }
    func getQueryResults(_ queryId: String, nextToken: String?, maxResults: Int) async throws -> LakeQueryResults {
        LakeQueryResults(status: .finished, rows: [], nextToken: nil, errorMessage: nil)
    }
}

/// LookupEvents that records what it is asked for and has nothing to answer.
final class RecordingTrail: CloudTrailAPI {
    let lookups = Mutex<[(name: String?, start: Date, end: Date)]>([])

    func lookupEvents(attribute: (key: String, value: String)?, start: Date, end: Date) -> Paginator<CloudTrailLookupEvent, String> {
        lookups.withLock { $0.append((attribute?.value, start, end)) }
        return Paginator("LookupEvents") { _ in ([], nil) }
    }
    func startQuery(_ statement: String) async throws -> String { "" }
    func getQueryResults(_ queryId: String, nextToken: String?, maxResults: Int) async throws -> LakeQueryResults {
        LakeQueryResults(status: .finished, rows: [], nextToken: nil, errorMessage: nil)
    }
}

@Suite struct LookupEventsCallPatternTests {
    /// docs/contract.md's evidence: each event name read once for the whole 90-day window, however many users.
    @Test(arguments: [(Control.inactivity, ["Authenticate", "CredentialVerification", "UserAuthentication"]),
                      (.passwordExpiry, ["UpdatePassword"])])
    func eachEventNameIsReadOnceForTheWholeWindowWhateverTheNumberOfUsers(_ control: Control, _ names: [String]) async throws {
        for users in [1, 40] {
            let trail = RecordingTrail()
            let registry = InMemoryRegistry((0..<users).map { user("id-\($0)", "user\($0)", created: "2026-01-01T00:00:00Z") })
            let monitor = ComplianceMonitor(
                configuration: try monitorConfiguration(control, [:]), registry: registry, ledger: InMemoryLedger(),
                directory: FakeIdentityStore(enabling: registry).asDirectory,
                activity: LookupEventsActivitySource(cloudTrail: trail), alerts: RecordingAlerts(), isPassingFailure: isRetryableFailure,
                logger: Logger(label: "test"),
                now: { date("2026-11-21T06:00:00Z") })
            _ = try await monitor.run(RunRequest(dryRun: true), deadline: nil)
            let lookups = trail.lookups.withLock { $0 }
            #expect(lookups.compactMap(\.name).sorted() == names && lookups.count == names.count, "\(users) users")
            #expect(lookups.allSatisfy { $0.start == date("2026-08-23T06:00:00Z") && $0.end == date("2026-11-21T06:00:00Z") })
        }
    }
}

@Suite struct LookupEventsDeadlineTests {
    @Test func aReadStopsAtTheDeadlineAfterThePageUnderWay() async throws {
        let source = LookupEventsActivitySource(cloudTrail: EndlessTrail())
        let error = await #expect(throws: StoppedRead.self) {
            try await signIns(source, from: date("2026-08-23T06:00:00Z"), to: date("2026-11-21T06:00:00Z"), deadline: Date())
        }
        #expect(error?.eventsRead == 1, "the page under way is read and kept, no other is asked for")
    }
}
