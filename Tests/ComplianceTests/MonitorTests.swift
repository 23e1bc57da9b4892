import AWSClient
@testable import Compliance
import Foundation
import Logging
import Testing

func monitorConfiguration(_ control: Control, _ extra: [String: String] = [:]) throws -> MonitorConfiguration {
    try MonitorConfiguration(control: control, environment: [
        "REGISTRY_TABLE": "registry", "ACTIVITY_TABLE": "activity", "IDENTITY_STORE_ID": store,
        "ALERT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/alerts",
    ].merging(extra) { $1 })
}

/// A monitor over `registry`; the identity store holds every registry user, enabled, unless `directory` says otherwise.
func makeMonitor(
    _ control: Control, registry: InMemoryRegistry, activity: FakeActivity = FakeActivity(), alerts: RecordingAlerts = RecordingAlerts(),
    directory: FakeIdentityStore? = nil, ledger: InMemoryLedger = InMemoryLedger(), findings: InMemoryFindings? = nil,
    environment: [String: String] = [:]
) throws -> ComplianceMonitor {
    ComplianceMonitor(
        configuration: try monitorConfiguration(control, environment), registry: registry, ledger: ledger,
        directory: (directory ?? FakeIdentityStore(enabling: registry)).asDirectory, activity: activity, alerts: alerts, findings: findings,
        isPassingFailure: isRetryableFailure, logger: Logger(label: "test"), now: { date("2026-11-21T06:00:00Z") })
}

struct AlertBody: Decodable {
    struct User: Decodable { let userId: String; let userName: String; let status: String; let lastEventAt: String?; let daysSince: Int? }
    let schemaVersion: Int
    let alertType: String
    let generatedAt: String
    let identityStoreId: String
    let thresholdDays: Int
    let warningDays: Int
    let part: Int
    let parts: Int
    let users: [User]
}

@Suite struct VerdictTests {
    let asOf = date("2026-11-21T06:00:00Z")

    func verdict(_ user: RegistryUser, cloudTrail: String? = nil, control: Control = .inactivity) throws -> Verdict {
        try makeMonitor(control, registry: InMemoryRegistry()).verdict(for: user, cloudTrailDate: cloudTrail.map(date), asOf: asOf)
    }

    @Test func exactlyNinetyDaysIsExpiredAndEightyNineIsAWarning() throws {
        let ninety = try verdict(user("u", "a"), cloudTrail: "2026-08-23T06:00:00Z")
        #expect(ninety.daysSince == 90)
        #expect(ninety.status == .expired)
        let almost = try verdict(user("u", "a"), cloudTrail: "2026-08-23T06:00:01Z")
        #expect(almost.daysSince == 89, "one second short of 90 days rounds down")
        #expect(almost.status == .warning)
    }

    @Test func warningStartsAtSeventySixDays() throws {
        #expect(try verdict(user("u", "a"), cloudTrail: "2026-09-06T06:00:00Z").daysSince == 76)
        #expect(try verdict(user("u", "a"), cloudTrail: "2026-09-06T06:00:00Z").status == .warning)
        #expect(try verdict(user("u", "a"), cloudTrail: "2026-09-07T06:00:00Z").status == .compliant)
    }

    @Test func leapDayCountsAsADay() throws {
        let monitor = try makeMonitor(.passwordExpiry, registry: InMemoryRegistry())
        let leap = monitor.verdict(for: user("u", "a", password: "2024-02-28T00:00:00Z"), cloudTrailDate: nil, asOf: date("2024-05-28T00:00:00Z"))
        #expect(leap.daysSince == 90)
        #expect(leap.status == .expired)
        let common = monitor.verdict(for: user("u", "a", password: "2023-02-28T00:00:00Z"), cloudTrailDate: nil, asOf: date("2023-05-28T00:00:00Z"))
        #expect(common.daysSince == 89)
        #expect(common.status == .warning)
    }

    @Test func userCreatedYesterdayIsInTheirGracePeriod() throws {
        let fresh = try verdict(user("u", "a", created: "2026-11-20T06:00:00Z"))
        #expect(fresh.daysSince == 1)
        #expect(fresh.status == .compliant)
        #expect(fresh.lastEventAt == date("2026-11-20T06:00:00Z"))
    }

    @Test func noEvidenceAtAllIsExpiredWithNoDate() throws {
        let unknown = try verdict(user("u", "a", origin: .reconcile))
        #expect(unknown.status == .expired)
        #expect(unknown.lastEventAt == nil)
        #expect(unknown.daysSince == nil)
    }

    @Test func newestOfCloudTrailAndRegistryWins() throws {
        let remembered = try verdict(user("u", "a", created: "2025-01-01T00:00:00Z", signIn: "2026-11-01T00:00:00Z"), cloudTrail: "2026-10-01T00:00:00Z")
        #expect(remembered.lastEventAt == date("2026-11-01T00:00:00Z"))
        let fromTrail = try verdict(user("u", "a", created: "2025-01-01T00:00:00Z", signIn: "2026-01-01T00:00:00Z"), cloudTrail: "2026-11-10T00:00:00Z")
        #expect(fromTrail.lastEventAt == date("2026-11-10T00:00:00Z"))
        #expect(fromTrail.daysSince == 11)
    }
}

@Suite struct EvidenceTests {
    @Test func signInsMatchOnUserIdFirstAndUserNameOnlyForOldEvents() throws {
        let users = [user("id-ada", "ada"), user("id-bob", "Bob")]
        let activity = [
            UserActivity(userId: "id-ada", userName: "someone-else", time: date("2026-11-01T00:00:00Z")),
            UserActivity(userId: nil, userName: "bob", time: date("2026-10-01T00:00:00Z")),
            UserActivity(userId: nil, userName: "ada", time: date("2026-11-20T00:00:00Z")),
            UserActivity(userId: "id-unknown", userName: "Bob", time: date("2026-11-20T00:00:00Z")),
            UserActivity(userId: "id-ada", userName: nil, time: date("2026-12-01T00:00:00Z")),
        ]
        var tally = EvidenceTally(users: users, kind: .signIn)
        let news = tally.add(activity, notAfter: date("2026-11-21T00:00:00Z"))
        #expect(tally.newest["id-ada"] == date("2026-11-20T00:00:00Z"), "old-format name match counts; events after asOf do not")
        #expect(tally.newest["id-bob"] == date("2026-10-01T00:00:00Z"), "an event with an id is never re-attributed by its name")
        #expect(news.unregistered.map(\.userId) == ["id-unknown"], "kept for a user the registry may hold later")
    }

    @Test func ruleAcceptsBothIdentityFormatsAndRejectsFailedVerifications() throws {
        let current = try #require(ActivityEvent(try record("""
            {"eventTime":"2026-11-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"CredentialVerification",
             "userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"id-1"}},
             "serviceEventDetails":{"CredentialVerification":"Success"},"eventType":"AwsServiceEvent"}
            """)))
        #expect(ActivityRules.signIn(current) == UserActivity(userId: "id-1", userName: nil, time: date("2026-11-01T10:00:00Z")))

        let old = try #require(ActivityEvent(try record("""
            {"eventTime":"2025-05-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"UserAuthentication",
             "userIdentity":{"type":"Unknown","userName":"ada"},"additionalEventData":{"UserName":"ada"},
             "serviceEventDetails":{"UserAuthentication":"Success"}}
            """)))
        #expect(ActivityRules.signIn(old)?.userName == "ada")
        #expect(ActivityRules.signIn(old)?.userId == nil)

        let legacy = try #require(ActivityEvent(try record("""
            {"eventTime":"2024-05-01T10:00:00Z","eventSource":"sso.amazonaws.com","eventName":"Authenticate",
             "userIdentity":{"type":"Unknown","userName":"bob"}}
            """)))
        #expect(ActivityRules.signIn(legacy)?.userName == "bob")

        let failed = try #require(ActivityEvent(try record("""
            {"eventTime":"2026-11-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"CredentialVerification",
             "userIdentity":{"onBehalfOf":{"userId":"id-1"}},"serviceEventDetails":{"CredentialVerification":"Failure"},
             "errorMessage":"Invalid password"}
            """)))
        #expect(ActivityRules.signIn(failed) == nil)

        let errored = try #require(ActivityEvent(try record("""
            {"eventTime":"2026-11-01T10:00:00Z","eventSource":"sso.amazonaws.com","eventName":"Authenticate",
             "userIdentity":{"userName":"bob"},"errorCode":"AuthenticationFailed"}
            """)))
        #expect(ActivityRules.signIn(errored) == nil)
    }

    @Test func passwordChangeNamesTheUserInRequestParametersOrOnBehalfOf() throws {
        let byRequest = try #require(ActivityEvent(try record("""
            {"eventTime":"2026-11-01T10:00:00Z","eventSource":"sso-directory.amazonaws.com","eventName":"UpdatePassword",
             "requestParameters":{"userId":"id-9"}}
            """)))
        #expect(ActivityRules.passwordChange(byRequest)?.userId == "id-9")
        let bySelf = try #require(ActivityEvent(try record("""
            {"eventTime":"2026-11-01T10:00:00Z","eventSource":"sso-directory.amazonaws.com","eventName":"UpdatePassword",
             "userIdentity":{"onBehalfOf":{"userId":"id-8"}}}
            """)))
        #expect(ActivityRules.passwordChange(bySelf)?.userId == "id-8")
        let signIn = try #require(ActivityEvent(try record("""
            {"eventTime":"2026-11-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"UserAuthentication",
             "userIdentity":{"onBehalfOf":{"userId":"id-8"}}}
            """)))
        #expect(ActivityRules.passwordChange(signIn) == nil)
    }
}

@Suite struct CoverageTests {
    let window = CoveredSpan(from: date("2026-08-23T06:00:00Z"), until: date("2026-11-21T06:00:00Z"))

    func signIn(_ id: String, _ time: String) -> UserActivity { UserActivity(userId: id, userName: nil, time: date(time)) }

    @Test func aFirstReadCoversTheWindowAndALaterOneReadsOnlyWhatIsNewWithHalfAnHourOverlap() async throws {
        let activity = FakeActivity(signIns: [
            signIn("a", "2026-09-01T00:00:00Z"), signIn("b", "2026-11-21T05:00:00Z"), signIn("c", "2026-11-21T05:45:00Z"),
        ])
        let ledger = InMemoryLedger()
        let reader = CoverageReader(source: activity, ledger: ledger, now: { date("2026-11-21T06:00:00Z") })
        var seen: [ActivityEvent] = []

        let first = try await reader.read(["UserAuthentication"], over: window, deadline: nil, persist: true) { seen += $0 }
        #expect(first == .init(complete: true, covered: window))
        #expect(seen.count == 3)

        let dayLater = CoveredSpan(from: date("2026-08-24T06:00:00Z"), until: date("2026-11-22T06:00:00Z"))
        let second = try await reader.read(["UserAuthentication"], over: dayLater, deadline: nil, persist: true) { seen += $0 }
        #expect(second == .init(complete: true, covered: CoveredSpan(from: window.from, until: dayLater.until)))
        #expect(activity.readLog.last == .init(names: ["UserAuthentication"], from: date("2026-11-21T05:30:00Z"), to: dayLater.until))
        #expect(seen.count == 4, "the event in the half hour of overlap is read again, nothing older")
    }

    @Test func aReadStoppedByTheDeadlineKeepsItsProgressAndTheNextGoesOnFromThere() async throws {
        let times = (0..<9).map { ISO8601UTC.format(date("2026-11-21T00:00:00Z").addingTimeInterval(-Double($0) * 86_400 * 9)) }
        let events = times.map { signIn("u", $0) }
        let ledger = InMemoryLedger()
        let stopping = FakeActivity(signIns: events, pagesBeforeDeadline: 2)
        var seen: [ActivityEvent] = []

        let first = try await CoverageReader(source: stopping, ledger: ledger, now: { Date() })
            .read(["UserAuthentication"], over: window, deadline: nil, persist: true) { seen += $0 }
        #expect(!first.complete && first.covered == nil, "nothing joins coverage until the head reaches its bottom")
        let head = try #require(try await ledger.coverage(of: "fake#UserAuthentication").head)
        #expect(head == CoveredSpan(from: date(times[3]), until: window.until))

        let resumed = FakeActivity(signIns: events)
        let second = try await CoverageReader(source: resumed, ledger: ledger, now: { Date() })
            .read(["UserAuthentication"], over: window, deadline: nil, persist: true) { seen += $0 }
        #expect(second == .init(complete: true, covered: window))
        #expect(resumed.readLog == [.init(names: ["UserAuthentication"], from: window.from, to: date(times[3]))])
        #expect(Set(seen.map(\.eventTime)) == Set(times.map(date)) && seen.count == 10, "only the page's boundary event is read twice")
    }

    @Test func aDryRunReadsButRecordsNoCoverage() async throws {
        let ledger = InMemoryLedger()
        let outcome = try await CoverageReader(source: FakeActivity(), ledger: ledger, now: { Date() })
            .read(["UserAuthentication"], over: window, deadline: nil, persist: false) { _ in }
        #expect(outcome.complete)
        #expect(try await ledger.coverage(of: "fake#UserAuthentication") == StreamCoverage())
    }

    @Test func aJudgingRunOnAPartialReadAlertsNobodyAndSaysHowFarItGot() async throws {
        let registry = InMemoryRegistry([user("id-old", "old", created: "2025-01-01T00:00:00Z")])
        let activity = FakeActivity(signIns: (0..<6).map { signIn("x", ISO8601UTC.format(date("2026-11-20T00:00:00Z").addingTimeInterval(-Double($0) * 3600))) },
                                    pagesBeforeDeadline: 1)
        let alerts = RecordingAlerts()

        let summary = try await makeMonitor(.inactivity, registry: registry, activity: activity, alerts: alerts).run(RunRequest(), deadline: nil)

        #expect(!summary.coverageComplete && summary.coveredFrom == nil && summary.messagesSent == 0 && summary.expired == 0)
        #expect(alerts.bodies.isEmpty)
    }

    @Test func aCatchUpRecordsAndJudgesNobody() async throws {
        let registry = InMemoryRegistry([user("id-old", "old", created: "2025-01-01T00:00:00Z")])
        let activity = FakeActivity(signIns: [signIn("id-old", "2026-11-01T00:00:00Z"), signIn("id-later", "2026-11-02T00:00:00Z")])
        let ledger = InMemoryLedger()
        let alerts = RecordingAlerts()

        let summary = try await makeMonitor(.inactivity, registry: registry, activity: activity, alerts: alerts, ledger: ledger)
            .run(RunRequest(catchUp: true), deadline: nil)

        #expect(summary.catchUp && summary.coverageComplete && summary.evidenceRecorded == 1 && summary.usersChecked == 0)
        #expect((summary.coveredFrom, summary.coveredUntil) == ("2026-08-23T06:00:00Z", "2026-11-21T06:00:00Z"))
        #expect(registry["id-old"]?.lastSignInAt == date("2026-11-01T00:00:00Z"))
        #expect(try await ledger.evidence(userId: "id-later", .signIn) == date("2026-11-02T00:00:00Z"), "a user not yet registered")
        #expect(alerts.bodies.isEmpty)
    }

    @Test func evidenceReadBeforeAUserWasRegisteredClearsTheUserLater() async throws {
        let ledger = InMemoryLedger()
        try await ledger.recordEvidence(userId: "id-late", .signIn, at: date("2026-11-02T00:00:00Z"), updatedAt: Date())
        // Coverage is complete already: nothing is read from CloudTrail again.
        try await ledger.setCoverage(StreamCoverage(covered: window), of: "fake#Authenticate", updatedAt: Date())
        try await ledger.setCoverage(StreamCoverage(covered: window), of: "fake#CredentialVerification", updatedAt: Date())
        try await ledger.setCoverage(StreamCoverage(covered: window), of: "fake#UserAuthentication", updatedAt: Date())
        let registry = InMemoryRegistry([user("id-late", "late", origin: .reconcile)])
        let activity = FakeActivity()

        let summary = try await makeMonitor(.inactivity, registry: registry, activity: activity, ledger: ledger).run(RunRequest(), deadline: nil)

        #expect(activity.readLog.isEmpty)
        #expect((summary.expired, summary.warning, summary.evidenceRecorded) == (0, 0, 1))
        #expect(registry["id-late"]?.lastSignInAt == date("2026-11-02T00:00:00Z"))
    }
}

@Suite struct MonitorRunTests {
    @Test func judgesEveryoneButExcludedAndScimAndRemembersNewEvidence() async throws {
        let registry = InMemoryRegistry([
            user("id-old", "old", created: "2025-01-01T00:00:00Z"),
            user("id-new", "new", created: "2026-11-20T00:00:00Z"),
            user("id-scim", "scim", origin: .scim, created: "2025-01-01T00:00:00Z"),
            user("id-glass", "Break-Glass", created: "2025-01-01T00:00:00Z"),
            user("id-changed", "changed", created: "2025-01-01T00:00:00Z", password: "2026-06-01T00:00:00Z"),
        ])
        let activity = FakeActivity(passwordChanges: [UserActivity(userId: "id-changed", userName: nil, time: date("2026-11-01T00:00:00Z"))])
        let alerts = RecordingAlerts()
        let monitor = try makeMonitor(.passwordExpiry, registry: registry, activity: activity, alerts: alerts, environment: ["EXCLUDED_USERS": " break-glass , nobody"])

        let summary = try await monitor.run(RunRequest(), deadline: nil)

        #expect(summary.usersChecked == 3)
        #expect(summary.skipped == 1)
        #expect(summary.excluded == 1)
        #expect(summary.expired == 1)
        #expect(summary.warning == 0)
        #expect(summary.evidenceRecorded == 1)
        #expect(registry["id-changed"]?.lastPasswordChangeAt == date("2026-11-01T00:00:00Z"))
        let body = try JSONDecoder().decode(AlertBody.self, from: Data(try #require(alerts.bodies.first).utf8))
        #expect(alerts.bodies.count == 1)
        #expect(body.users.map(\.userName) == ["old"])
        #expect(body.users[0].status == "EXPIRED")
        #expect(body.users[0].lastEventAt == "2025-01-01T00:00:00Z")
        #expect(body.users[0].daysSince == 689)
        #expect(body.alertType == "PASSWORD_EXPIRY")
        #expect(body.generatedAt == "2026-11-21T06:00:00Z")
        #expect((body.schemaVersion, body.part, body.parts, body.thresholdDays, body.warningDays) == (1, 1, 1, 90, 14))
        #expect(body.identityStoreId == store)
    }

    @Test func disabledAndDeletedUsersAreCountedNotAlerted() async throws {
        // 400 recent users make the store five pages long: describing the four flagged users is cheaper.
        let recent = (0..<400).map { user("id-recent-\($0)", "recent\($0)", created: "2026-11-20T00:00:00Z") }
        let registry = InMemoryRegistry(recent + [
            user("id-active", "active", created: "2025-01-01T00:00:00Z"),
            user("id-disabled", "disabled", created: "2025-01-01T00:00:00Z"),
            user("id-deleted", "deleted", created: "2025-01-01T00:00:00Z"),
            user("id-silent", "silent", created: "2025-01-01T00:00:00Z"),
            user("id-fresh", "fresh", created: "2026-11-20T00:00:00Z"),
        ])
        let directory = FakeIdentityStore(users: recent.map { IdentityStoreUser(userId: $0.userId, userName: $0.userName) } + [
            IdentityStoreUser(userId: "id-active", userName: "active", userStatus: "ENABLED"),
            IdentityStoreUser(userId: "id-disabled", userName: "disabled", userStatus: "DISABLED"),
            IdentityStoreUser(userId: "id-silent", userName: "silent"),
            IdentityStoreUser(userId: "id-fresh", userName: "fresh", userStatus: "DISABLED"),
        ])
        let alerts = RecordingAlerts()

        let summary = try await makeMonitor(.inactivity, registry: registry, alerts: alerts, directory: directory).run(RunRequest(), deadline: nil)

        #expect((summary.usersChecked, summary.expired, summary.disabled, summary.gone) == (405, 2, 1, 1))
        let body = try JSONDecoder().decode(AlertBody.self, from: Data(try #require(alerts.bodies.first).utf8))
        #expect(body.users.map(\.userName) == ["active", "silent"], "a store that reports no status leaves the user judged")
        #expect(directory.log.all == ["DescribeUser", "DescribeUser", "DescribeUser", "DescribeUser"], "only the four flagged users are looked up")
    }

    @Test func theStoreIsListedWhenThatTakesFewerRequestsThanDescribingEachFlaggedUser() async throws {
        #expect(StoreStateCheck.cheaperMethod(users: 3, storeSize: 250) == .describeEach)
        #expect(StoreStateCheck.cheaperMethod(users: 4, storeSize: 250) == .listStore, "three pages of 100 beat four DescribeUser")
        #expect(StoreStateCheck.cheaperMethod(users: 1, storeSize: 0) == .describeEach)
        let users = (0..<7).map { user("id-\($0)", "user\($0)", created: "2025-01-01T00:00:00Z") }
        let registry = InMemoryRegistry(users)
        let directory = FakeIdentityStore(users: users.dropLast().map { IdentityStoreUser(userId: $0.userId, userName: $0.userName, userStatus: "ENABLED") })

        let summary = try await makeMonitor(.inactivity, registry: registry, directory: directory).run(RunRequest(dryRun: true), deadline: nil)

        #expect((summary.expired, summary.gone) == (6, 1))
        #expect(directory.log.all == ["ListUsers", "ListUsers"], "seven flagged users of a seven-user store: one listing (the fake pages by 3)")
    }

    @Test func anItemWithNoStoreIsJudgedAndAnotherStoresIsCountedNotJudged() async throws {
        var unrecorded = user("id-imported", "imported", created: "2025-01-01T00:00:00Z")
        unrecorded.identityStoreId = ""
        var foreign = user("id-foreign", "foreign", created: "2025-01-01T00:00:00Z")
        foreign.identityStoreId = "d-9999999999"
        let alerts = RecordingAlerts()
        let summary = try await makeMonitor(.inactivity, registry: InMemoryRegistry([unrecorded, foreign]), alerts: alerts)
            .run(RunRequest(), deadline: nil)
        #expect((summary.usersChecked, summary.expired, summary.otherStore) == (1, 1, 1))
        let body = try JSONDecoder().decode(AlertBody.self, from: Data(try #require(alerts.bodies.first).utf8))
        #expect(body.users.map(\.userId) == ["id-imported"])
    }

    @Test func inactivityJudgesScimUsersToo() async throws {
        let registry = InMemoryRegistry([user("id-scim", "scim", origin: .scim, created: "2025-01-01T00:00:00Z")])
        let summary = try await makeMonitor(.inactivity, registry: registry).run(RunRequest(), deadline: nil)
        #expect(summary.usersChecked == 1)
        #expect(summary.skipped == 0)
        #expect(summary.expired == 1)
    }

    @Test func dryRunSendsAndWritesNothing() async throws {
        let registry = InMemoryRegistry([user("id-1", "one", created: "2025-01-01T00:00:00Z")])
        let activity = FakeActivity(signIns: [UserActivity(userId: "id-1", userName: nil, time: date("2025-08-01T00:00:00Z"))])
        let alerts = RecordingAlerts()
        let summary = try await makeMonitor(.inactivity, registry: registry, activity: activity, alerts: alerts)
            .run(RunRequest(dryRun: true), deadline: nil)
        #expect(summary.expired == 1)
        #expect(summary.messagesSent == 0)
        #expect(alerts.bodies.isEmpty)
        #expect(registry["id-1"]?.lastSignInAt == nil)
    }

    @Test func nothingIsSentWhenNobodyIsFlagged() async throws {
        let registry = InMemoryRegistry([user("id-1", "one", created: "2026-11-01T00:00:00Z")])
        let alerts = RecordingAlerts()
        let summary = try await makeMonitor(.inactivity, registry: registry, alerts: alerts).run(RunRequest(), deadline: nil)
        #expect(summary.messagesSent == 0)
        #expect(alerts.bodies.isEmpty)
    }

    @Test func asOfMovesTheEvaluation() async throws {
        let registry = InMemoryRegistry([user("id-1", "one", created: "2026-01-01T00:00:00Z")])
        let summary = try await makeMonitor(.inactivity, registry: registry)
            .run(RunRequest(dryRun: true, asOf: date("2026-03-20T00:00:00Z")), deadline: nil)
        #expect(summary.warning == 1, "78 days after creation")
        #expect(summary.asOf == "2026-03-20T00:00:00Z")
    }

    @Test func largeAlertsSplitIntoPartsUnder256KiBSortedByUserName() async throws {
        let users = (0..<6000).map { user(String(format: "id-%05d", $0), String(format: "user-%05d-with-a-longish-name@example.com", 5999 - $0)) }
        let alerts = RecordingAlerts()
        _ = try await makeMonitor(.inactivity, registry: InMemoryRegistry(users), alerts: alerts).run(RunRequest(), deadline: nil)

        #expect(alerts.bodies.count > 1)
        let bodies = try alerts.bodies.map { try JSONDecoder().decode(AlertBody.self, from: Data($0.utf8)) }
        #expect(alerts.bodies.allSatisfy { $0.utf8.count <= 262_144 })
        #expect(bodies.map(\.part) == Array(1...bodies.count))
        #expect(bodies.allSatisfy { $0.parts == bodies.count })
        let names = bodies.flatMap { $0.users.map(\.userName) }
        #expect(names.count == 6000)
        #expect(names == names.sorted())
        #expect(alerts.bodies[0].contains(#""lastEventAt":null"#), "unknown dates are written as null, not left out")
        let parts = bodies.count
        #expect(alerts.subjects == (1...parts).map { "PCI DSS 8.2.6: 6000 users inactive 90+ days (part \($0) of \(parts))" })
    }

    @Test func subjectsCountTheFlaggedUsersOfEachKind() {
        #expect(AlertMessage.subject(control: .inactivity, expired: 3, warning: 2, thresholdDays: 90)
            == "PCI DSS 8.2.6: 3 users inactive 90+ days, 2 users close to it")
        #expect(AlertMessage.subject(control: .passwordExpiry, expired: 1, warning: 0, thresholdDays: 60)
            == "PCI DSS 8.3.9: 1 user with a password 60+ days old")
        #expect(AlertMessage.subject(control: .passwordExpiry, expired: 0, warning: 1, thresholdDays: 90) == "PCI DSS 8.3.9: 1 user close to it")
    }
}

@Suite struct FindingTests {
    let expired = user("id-a", "alpha", created: "2026-01-01T00:00:00Z")
    let warning = user("id-b", "bravo", created: "2026-01-01T00:00:00Z", signIn: "2026-08-20T00:00:00Z")
    let compliant = user("id-c", "charlie", created: "2026-01-01T00:00:00Z", signIn: "2026-11-01T00:00:00Z")

    @Test func eachFlaggedUserKeepsOneFindingThatPassesAndArchivesOnceTheUserIsNoLongerFlagged() async throws {
        let registry = InMemoryRegistry([expired, warning, compliant])
        let findings = InMemoryFindings()
        let monitor = try makeMonitor(.inactivity, registry: registry, findings: findings)

        let first = try await monitor.run(RunRequest(asOf: date("2026-11-15T06:00:00Z")), deadline: nil)
        #expect((first.findingsOpen, first.findingsArchived) == (2, 0))
        let raised = try #require(findings.imports.withLock { $0.last }).sorted { $0.userId < $1.userId }
        #expect(raised.map(\.userId) == ["id-a", "id-b"])
        #expect(raised.map(\.standing) == [.failed, .warning])
        #expect(raised.allSatisfy { $0.firstSeen == date("2026-11-15T06:00:00Z") && $0.control == .inactivity })

        _ = try await registry.recordEvidence(userId: "id-a", .signIn, at: date("2026-11-16T09:00:00Z"), updatedAt: date("2026-11-16T09:00:00Z"))
        let second = try await monitor.run(RunRequest(asOf: date("2026-11-17T06:00:00Z")), deadline: nil)
        #expect((second.findingsOpen, second.findingsArchived) == (1, 1))
        let updated = try #require(findings.imports.withLock { $0.last })
        #expect(updated.map(\.userId) == ["id-b", "id-a"])
        #expect(updated.map(\.standing) == [.warning, .passed])
        #expect(updated.allSatisfy { $0.firstSeen == date("2026-11-15T06:00:00Z") }, "the first raising is kept")

        let third = try await monitor.run(RunRequest(asOf: date("2026-11-18T06:00:00Z")), deadline: nil)
        #expect((third.findingsOpen, third.findingsArchived) == (1, 0), "an archived finding is not archived again")
    }

    @Test func aDryRunImportsNothing() async throws {
        let findings = InMemoryFindings()
        let summary = try await makeMonitor(.inactivity, registry: InMemoryRegistry([expired]), findings: findings)
            .run(RunRequest(dryRun: true), deadline: nil)
        #expect(summary.expired == 1)
        #expect(findings.imports.withLock { $0.isEmpty })
    }
}

@Suite struct EvidenceIntakeTests {
    static func eventBridge(_ detailType: String, _ detail: String) -> String {
        #"{"version":"0","id":"e-1","detail-type":"\#(detailType)","source":"aws.signin","time":"2026-11-20T08:00:00Z","region":"us-east-1","detail":\#(detail)}"#
    }

    static let signIn = eventBridge("AWS Service Event via CloudTrail", #"{"eventTime":"2026-11-20T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"UserAuthentication","eventType":"AwsServiceEvent","userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"id-ada"}},"serviceEventDetails":{"UserAuthentication":"Success"}}"#)
    static let roleSignIn = eventBridge("AWS Service Event via CloudTrail", #"{"eventTime":"2026-11-20T09:00:00Z","eventSource":"sso.amazonaws.com","eventName":"GetRoleCredentials","userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"id-ada"}},"serviceEventDetails":{"role_name":"ReadOnly","account_id":"111122223333"}}"#)
    static let failed = eventBridge("AWS Service Event via CloudTrail", #"{"eventTime":"2026-11-20T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"CredentialVerification","errorCode":"AuthenticationFailed","userIdentity":{"onBehalfOf":{"userId":"id-ada"}},"serviceEventDetails":{"CredentialVerification":"Failure"}}"#)
    static let stranger = eventBridge("AWS Service Event via CloudTrail", #"{"eventTime":"2026-11-20T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"UserAuthentication","userIdentity":{"onBehalfOf":{"userId":"id-nobody"}},"serviceEventDetails":{"UserAuthentication":"Success"}}"#)

    func queued(_ bodies: [String]) throws -> MonitorEvent {
        let records = bodies.enumerated().map { index, body in
            #"{"messageId":"m-\#(index)","eventSource":"aws:sqs","body":\#(String(decoding: try! JSONEncoder().encode(body), as: UTF8.self))}"#
        }
        return try decodeEvent(#"{"Records":[\#(records.joined(separator: ","))]}"#)
    }

    @Test func runsEventsAndBatchesAreToldApart() throws {
        guard case .run(let scheduled) = try decodeEvent(#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#, as: MonitorEvent.self),
            case .run(let catchUp) = try decodeEvent(#"{"catchUp": true}"#, as: MonitorEvent.self),
            case .evidence(let record) = try decodeEvent(Self.signIn, as: MonitorEvent.self),
            case .queued(let messages) = try queued([Self.signIn, "not json"])
        else {
            Issue.record("an event was taken for another kind"); return
        }
        #expect(!scheduled.catchUp && catchUp.catchUp)
        #expect(record.eventName == "UserAuthentication")
        #expect(messages.map(\.messageId) == ["m-0", "m-1"])
    }

    @Test func aSignInMovesTheDateLaterOnceAndAReplayChangesNothing() async throws {
        let registry = InMemoryRegistry([user("id-ada", "ada", signIn: "2026-10-01T00:00:00Z")])
        let monitor = try makeMonitor(.inactivity, registry: registry)
        guard case .evidence(let record) = try decodeEvent(Self.signIn, as: MonitorEvent.self) else { return }

        let names = RegistryNames(registry: registry)
        #expect(try await monitor.take(record, names: names) == .recorded)
        #expect(try await monitor.take(record, names: names) == .unchanged)
        #expect(registry["id-ada"]?.lastSignInAt == date("2026-11-20T08:00:00Z"))
        #expect(registry.count == 1)
    }

    @Test func aBatchFailsOnlyTheBadMessageAndRecordsTheRest() async throws {
        let registry = InMemoryRegistry([user("id-ada", "ada")])
        let ledger = InMemoryLedger()
        let monitor = try makeMonitor(.inactivity, registry: registry, ledger: ledger)

        let response = try await monitor.handle(try queued([Self.signIn, #"{"detail-type":"x","detail":{"nope":1}}"#, Self.roleSignIn, Self.failed, Self.stranger]), deadline: nil)

        #expect(response == .batch(BatchResponse(batchItemFailures: [.init(itemIdentifier: "m-1")])))
        #expect(registry["id-ada"]?.lastSignInAt == date("2026-11-20T08:00:00Z"))
        #expect(ledger.evidence.withLock { $0["id-ada#role#111122223333#ReadOnly"] } == date("2026-11-20T09:00:00Z"))
        #expect(registry["id-nobody"] == nil, "a monitor never creates a registry item")
    }

    @Test func oldFormatEventsOfABatchAreMatchedByNameFromOneReadOfTheRegistry() async throws {
        let registry = InMemoryRegistry(["ada", "bo", "cy"].map { user("id-\($0)", $0.uppercased()) })
        let monitor = try makeMonitor(.inactivity, registry: registry)
        let byName = ["ada", "bo", "cy", "nobody"].map { name in
            Self.eventBridge("AWS Service Event via CloudTrail", #"{"eventTime":"2026-11-20T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"UserAuthentication","userIdentity":{"type":"Unknown","userName":"\#(name)"},"serviceEventDetails":{"UserAuthentication":"Success"}}"#)
        }

        let response = try await monitor.handle(try queued(byName + [Self.signIn]), deadline: nil)

        #expect(response == .batch(BatchResponse(batchItemFailures: [])))
        #expect(["id-ada", "id-bo", "id-cy"].allSatisfy { registry[$0]?.lastSignInAt == date("2026-11-20T08:00:00Z") })
        #expect(registry.scans.withLock { $0 } == 1, "one read of the registry for the whole batch, none for events with an id")
    }

    @Test func thePasswordMonitorTakesPasswordChangesOnly() async throws {
        let registry = InMemoryRegistry([user("id-ada", "ada")])
        let monitor = try makeMonitor(.passwordExpiry, registry: registry)
        let change = Self.eventBridge("AWS API Call via CloudTrail", #"{"eventTime":"2026-11-19T08:00:00Z","eventSource":"sso-directory.amazonaws.com","eventName":"UpdatePassword","requestParameters":{"userId":"id-ada"}}"#)
        guard case .evidence(let signIn) = try decodeEvent(Self.signIn, as: MonitorEvent.self),
            case .evidence(let password) = try decodeEvent(change, as: MonitorEvent.self)
        else { return }

        let names = RegistryNames(registry: registry)
        #expect(try await monitor.take(signIn, names: names) == .ignored("no evidence for PASSWORD_EXPIRY"))
        #expect(try await monitor.take(password, names: names) == .recorded)
        #expect(registry["id-ada"]?.lastPasswordChangeAt == date("2026-11-19T08:00:00Z"))
    }
}

@Suite struct UserMatcherTests {
    @Test func theIdWinsAndANameMatchesWhateverItsCaseOnlyWithoutOne() {
        let matcher = UserMatcher([user("id-1", "Ana.Costa"), user("id-2", "bruno")])
        #expect(matcher.userId(id: "id-9", name: "ana.costa") == "id-9", "an id is taken as it is, even one no user has")
        #expect(matcher.userId(id: nil, name: "ANA.COSTA") == "id-1")
        #expect(matcher.userId(id: nil, name: "chen") == nil)
        #expect(matcher.userId(id: nil, name: nil) == nil)
    }
}

/// The CloudTrail record, as EventBridge and LookupEvents deliver it.
@Suite struct CloudTrailRecordTests {
    @Test func cloudTrailRecordDecodesAnIdentityCenterSignIn() throws {
        let sample = """
            {"eventVersion":"1.09","userIdentity":{"type":"IdentityCenterUser","accountId":"111122223333",
            "onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1234567890"},
            "credentialId":"abc"},"eventTime":"2026-07-01T10:00:00Z","eventSource":"signin.amazonaws.com",
            "eventName":"CredentialVerification","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.1",
            "userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":null,
            "additionalEventData":{"CredentialType":"PASSWORD"},"serviceEventDetails":{"CredentialVerification":"Success"},
            "eventID":"e-1","readOnly":false,"eventType":"AwsServiceEvent","recipientAccountId":"111122223333"}
            """
        let record = try JSONDecoder().decode(CloudTrailRecord.self, from: Data(sample.utf8))
        #expect(record.userIdentity?.onBehalfOf?.userId == "94482488-3041-7026-18f3-be45837cd0e4")
        #expect(record.serviceEventDetails?["CredentialVerification"]?.string == "Success")
        #expect(record.additionalEventData?["CredentialType"]?.string == "PASSWORD")
        #expect(record.requestParameters == nil, "a JSON null is no parameters at all")
        #expect(record.eventType == "AwsServiceEvent")
    }
}
