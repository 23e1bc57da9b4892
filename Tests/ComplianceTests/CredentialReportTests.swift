import AWSAdapters
import AWSClient
@testable import Compliance
import Foundation
import Logging
import Synchronization
import Testing

struct FakeSSOAdmin: SSOAdminAPI {
    var permissionSets: [PermissionSet]
    var provisioned: [String: [String]]
    var assignments: [AccountAssignment]
    let calls = Counter()

    func listPermissionSets(instanceArn: String) -> Paginator<String, String> {
        let arns = permissionSets.map(\.permissionSetArn)
        return Paginator("x") { _ in calls.add(); return (arns, nil) }
    }
    func describePermissionSet(instanceArn: String, permissionSetArn: String) async throws -> PermissionSet {
        calls.add()
        return permissionSets.first { $0.permissionSetArn == permissionSetArn }!
    }
    func listAccountsForProvisionedPermissionSet(instanceArn: String, permissionSetArn: String) -> Paginator<String, String> {
        let accounts = provisioned[permissionSetArn] ?? []
        return Paginator("x") { _ in calls.add(); return (accounts, nil) }
    }
    func listAccountAssignments(instanceArn: String, accountId: String, permissionSetArn: String) -> Paginator<AccountAssignment, String> {
        let found = assignments.filter { $0.accountId == accountId && $0.permissionSetArn == permissionSetArn }
        return Paginator("pairs") { _ in calls.add(); return (found, nil) }
    }
    func listAccountAssignmentsForPrincipal(instanceArn: String, principalId: String, principalType: AccountAssignment.PrincipalType) -> Paginator<AccountAssignment, String> {
        let found = assignments.filter { $0.principalId == principalId && $0.principalType == principalType }
        return Paginator("principals") { _ in calls.add(); return (found, nil) }
    }
}

struct FakeDirectory: IdentityStoreAPI {
    var users: [IdentityStoreUser]
    var groups: [IdentityStoreGroup]
    var memberships: [String: [String]]

    func describeUser(identityStoreId: String, userId: String) async throws -> IdentityStoreUser { users.first { $0.userId == userId }! }
    func listUsers(identityStoreId: String) -> Paginator<IdentityStoreUser, String> { Paginator("x") { [users] _ in (users, nil) } }
    func listGroups(identityStoreId: String) -> Paginator<IdentityStoreGroup, String> { Paginator("x") { [groups] _ in (groups, nil) } }
    func listGroupMemberships(identityStoreId: String, groupId: String) -> Paginator<GroupMembership, String> {
        let members = (memberships[groupId] ?? []).map { GroupMembership(groupId: groupId, userId: $0) }
        return Paginator("x") { _ in (members, nil) }
    }
}

struct FakeOrganizations: OrganizationsAPI {
    var accounts: [OrganizationAccount]
    func listAccounts() -> Paginator<OrganizationAccount, String> { Paginator("x") { [accounts] _ in (accounts, nil) } }
}

final class RecordingStore: ReportStore {
    let objects = Mutex<[String: Data]>([:])
    func location(of key: String) -> String { "s3://reports/\(key)" }
    func write(_ body: Data, key: String, contentType: String) async throws {
        objects.withLock { $0["reports/\(key)"] = body }
    }
    func read(_ key: String) async throws -> Data? {
        objects.withLock { $0["reports/\(key)"] }
    }
    func remove(_ key: String) async throws {
        objects.withLock { $0["reports/\(key)"] = nil }
    }
    var progressKeys: [String] {
        objects.withLock { $0.keys.filter { $0.hasPrefix("reports/credential_reports/progress/") }.sorted() }
    }
    func csv() throws -> String {
        String(decoding: try #require(objects.withLock { $0.first { $0.key.hasSuffix(".csv") }?.value }), as: UTF8.self)
    }
}

extension CredentialReportResponse {
    /// The result of a run this invocation finished.
    func finished(sourceLocation: SourceLocation = #_sourceLocation) throws -> CredentialReportResult {
        guard case .complete(let result) = self else {
            Issue.record("the run did not finish: \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return result
    }
}

/// A clock that moves on a second each time it is read: a deadline passes after so many reads,
/// whatever the machine's speed.
final class TickingClock: Sendable {
    private let time: Mutex<Date>
    init(_ start: Date) { time = Mutex(start) }
    func now() -> Date { time.withLock { $0 += 1; return $0 } }
    var current: Date { time.withLock { $0 } }
}

let admin = PermissionSet(permissionSetArn: "arn:aws:sso:::permissionSet/ssoins-1/ps-admin", name: "Admin", description: "Full, \"root\" access")
let readOnly = PermissionSet(permissionSetArn: "arn:aws:sso:::permissionSet/ssoins-1/ps-ro", name: "ReadOnly", description: nil)

@Suite struct CredentialReportTests {
    func makeReport(
        activity: [RoleSignIn] = [], assignments: [AccountAssignment], provisioned: [String: [String]]? = nil, ledger: InMemoryLedger = InMemoryLedger(),
        store s3: RecordingStore = RecordingStore(), now: @escaping @Sendable () -> Date = { date("2026-11-21T06:00:00Z") },
        signInPagesPerInvocation: Int? = nil
    ) throws -> (CredentialReport, RecordingStore, FakeSSOAdmin) {
        let ssoAdmin = FakeSSOAdmin(
            permissionSets: [readOnly, admin],
            provisioned: provisioned ?? [admin.permissionSetArn: ["111111111111", "222222222222"], readOnly.permissionSetArn: ["111111111111"]],
            assignments: assignments)
        let directory = FakeDirectory(
            users: [
                IdentityStoreUser(userId: "u-ada", userName: "ada"), IdentityStoreUser(userId: "u-bob", userName: "bob"),
                IdentityStoreUser(userId: "u-eve", userName: "=HYPERLINK(\"http://x\")"),
            ],
            groups: [IdentityStoreGroup(groupId: "g-ops", displayName: "ops"), IdentityStoreGroup(groupId: "g-dev", displayName: "dev")],
            memberships: ["g-ops": ["u-ada", "u-bob"], "g-dev": ["u-ada", "u-eve"]])
        let configuration = try CredentialReportConfiguration(environment: [
            "IDENTITY_STORE_ID": store, "SSO_INSTANCE_ARN": "arn:aws:sso:::instance/ssoins-1234567890abcdef", "REPORT_BUCKET": "reports",
            "ACTIVITY_TABLE": "activity",
        ])
        let report = CredentialReport(
            configuration: configuration,
            directory: IdentityCenterAccessDirectory(
                ssoAdmin: ssoAdmin, identityStore: directory,
                organizations: FakeOrganizations(accounts: [OrganizationAccount(id: "111111111111", name: "Prod, EU"), OrganizationAccount(id: "222222222222", name: "Dev")]),
                instanceArn: configuration.instanceArn, identityStoreId: configuration.identityStoreId),
            activity: FakeActivity(roleSignIns: activity, pagesBeforeDeadline: signInPagesPerInvocation), ledger: ledger, store: s3, requestCount: { 0 }, logger: Logger(label: "test"),
            now: now)
        return (report, s3, ssoAdmin)
    }

    static let assignments = [
        AccountAssignment(accountId: "111111111111", permissionSetArn: admin.permissionSetArn, principalType: .group, principalId: "g-ops"),
        AccountAssignment(accountId: "111111111111", permissionSetArn: admin.permissionSetArn, principalType: .group, principalId: "g-dev"),
        AccountAssignment(accountId: "111111111111", permissionSetArn: admin.permissionSetArn, principalType: .user, principalId: "u-ada"),
        AccountAssignment(accountId: "111111111111", permissionSetArn: readOnly.permissionSetArn, principalType: .user, principalId: "u-bob"),
        AccountAssignment(accountId: "222222222222", permissionSetArn: admin.permissionSetArn, principalType: .user, principalId: "u-bob"),
    ]
    static let signIns = [
        RoleSignIn(userId: "u-ada", userName: nil, accountId: "111111111111", roleName: "Admin", time: date("2026-11-01T10:00:00Z")),
        RoleSignIn(userId: "u-ada", userName: nil, accountId: "111111111111", roleName: "Admin", time: date("2026-10-01T10:00:00Z")),
        RoleSignIn(userId: nil, userName: "BOB", accountId: "222222222222", roleName: "Admin", time: date("2026-09-01T00:00:00Z")),
        RoleSignIn(userId: "u-bob", userName: nil, accountId: "111111111111", roleName: "Admin", time: date("2026-11-20T00:00:00Z")),
    ]

    @Test func oneRowPerAssignmentPathSortedWithSignInsAndQuoting() async throws {
        let (report, s3, _) = try makeReport(activity: Self.signIns, assignments: Self.assignments)

        let result = try await report.run(RunRequest(), deadline: nil).finished()

        let csv = try #require(s3.objects.withLock { $0["reports/credential_reports/credential_report-2026-11-21T060000Z.csv"] })
        let expected = [
            "account,PermissionSetArn,PermissionSetName,PermissionSetDescription,Type,GroupId,GroupName,Username,UserId,LastLogin,AccountName,DaysSinceLastLogin",
            "111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin,\"Full, \"\"root\"\" access\",GROUP,g-dev,dev,\"'=HYPERLINK(\"\"http://x\"\")\",u-eve,NO_LOGIN_PRESENT,\"Prod, EU\",",
            "111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin,\"Full, \"\"root\"\" access\",USER,,,ada,u-ada,2026-11-01T10:00:00Z,\"Prod, EU\",19",
            "111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin,\"Full, \"\"root\"\" access\",GROUP,g-dev,dev,ada,u-ada,2026-11-01T10:00:00Z,\"Prod, EU\",19",
            "111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin,\"Full, \"\"root\"\" access\",GROUP,g-ops,ops,ada,u-ada,2026-11-01T10:00:00Z,\"Prod, EU\",19",
            "111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin,\"Full, \"\"root\"\" access\",GROUP,g-ops,ops,bob,u-bob,2026-11-20T00:00:00Z,\"Prod, EU\",1",
            "111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-ro,ReadOnly,,USER,,,bob,u-bob,NO_LOGIN_PRESENT,\"Prod, EU\",",
            "222222222222,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin,\"Full, \"\"root\"\" access\",USER,,,bob,u-bob,2026-09-01T00:00:00Z,Dev,81",
        ].joined(separator: "\r\n") + "\r\n"
        #expect(String(decoding: csv, as: UTF8.self) == expected)
        #expect((result.rows, result.users, result.accounts, result.permissionSets) == (7, 3, 2, 2))
        #expect(result.s3Uri == "s3://reports/credential_reports/credential_report-2026-11-21T060000Z.csv")
        let manifest = try #require(s3.objects.withLock { $0["reports/credential_reports/credential_report-2026-11-21T060000Z.json"] })
        let fields = try #require(JSONSerialization.jsonObject(with: manifest) as? [String: Any])
        #expect(fields["windowStart"] as? String == "2026-08-23T06:00:00Z")
        #expect(fields["activitySource"] as? String == "lookup-events")
        #expect(fields["rows"] as? Int == 7)
    }

    @Test func choosesTheEnumerationThatNeedsFewerCalls() async throws {
        let assignment = AccountAssignment(accountId: "111111111111", permissionSetArn: admin.permissionSetArn, principalType: .user, principalId: "u-ada")
        // 3 pairs against 5 principals: pairs are cheaper.
        let (byPair, _, _) = try makeReport(assignments: [assignment])
        #expect(try await byPair.run(RunRequest(), deadline: nil).finished().enumeration == "per-account-and-permission-set")
        // 20 pairs against 5 principals: principals are cheaper, and give the same rows.
        let many = (0..<10).map { String(format: "%012d", $0 + 300_000_000_000) }
        let wide = [admin.permissionSetArn: many + ["111111111111"], readOnly.permissionSetArn: many]
        let (byPrincipal, s3, _) = try makeReport(assignments: [assignment], provisioned: wide)
        let result = try await byPrincipal.run(RunRequest(), deadline: nil).finished()
        #expect(result.enumeration == "per-principal")
        #expect(result.rows == 1)
        let csv = String(decoding: try #require(s3.objects.withLock { $0.first { $0.key.hasSuffix(".csv") }?.value }), as: UTF8.self)
        #expect(csv.contains("111111111111,arn:aws:sso:::permissionSet/ssoins-1/ps-admin,Admin"))
    }

    @Test func dryRunComputesButWritesNothing() async throws {
        let assignment = AccountAssignment(accountId: "111111111111", permissionSetArn: admin.permissionSetArn, principalType: .user, principalId: "u-ada")
        let (report, s3, _) = try makeReport(assignments: [assignment])
        let result = try await report.run(RunRequest(dryRun: true), deadline: nil).finished()
        #expect(result.dryRun)
        #expect(result.rows == 1)
        #expect(s3.objects.withLock { $0.isEmpty })
    }

    @Test func lookbackOverNinetyDaysNeedsLake() {
        #expect(throws: ConfigurationError.self) {
            try CredentialReportConfiguration(environment: [
                "IDENTITY_STORE_ID": store, "SSO_INSTANCE_ARN": "arn:aws:sso:::instance/ssoins-1", "REPORT_BUCKET": "b", "ACTIVITY_TABLE": "a",
                "REPORT_LOOKBACK_DAYS": "180",
            ])
        }
        #expect(throws: ConfigurationError.self) {
            try CredentialReportConfiguration(environment: ["IDENTITY_STORE_ID": store, "SSO_INSTANCE_ARN": "ssoins-1", "REPORT_BUCKET": "b", "ACTIVITY_TABLE": "a"])
        }
    }

    @Test func aPayloadAskingForMoreThanLookupEventsHoldsIsAClearErrorBeforeAnyCall() async throws {
        let (report, s3, ssoAdmin) = try makeReport(assignments: [])
        let error = await #expect(throws: ReportRequestError.self) {
            _ = try await report.run(RunRequest(lookbackDays: 200), deadline: nil).finished()
        }
        #expect(error?.description.contains("lookbackDays 200 is more than the 90 days lookup-events can see") == true)
        #expect(ssoAdmin.calls.value == 0)
        #expect(s3.objects.withLock { $0.isEmpty })
        _ = try await report.run(RunRequest(dryRun: true, lookbackDays: 90), deadline: nil).finished()
    }

    @Test func aRoleSignInOnlyTheLedgerRemembersIsReportedAndWhatCloudTrailHoldsIsRecorded() async throws {
        let ledger = InMemoryLedger()
        _ = try await ledger.recordRoleSignIn(userId: "u-bob", accountId: "111111111111", roleName: "ReadOnly", at: date("2026-06-24T06:00:00Z"), updatedAt: Date())
        let assignments = [
        AccountAssignment(accountId: "111111111111", permissionSetArn: readOnly.permissionSetArn, principalType: .user, principalId: "u-bob"),
            AccountAssignment(accountId: "111111111111", permissionSetArn: admin.permissionSetArn, principalType: .user, principalId: "u-ada"),
        ]
        let read = [RoleSignIn(userId: "u-ada", userName: nil, accountId: "111111111111", roleName: "Admin", time: date("2026-11-20T06:00:00Z"))]
        let (report, s3, _) = try makeReport(activity: read, assignments: assignments, ledger: ledger)

        _ = try await report.run(RunRequest(), deadline: nil).finished()

        let csv = String(decoding: try #require(s3.objects.withLock { $0.first { $0.key.hasSuffix(".csv") }?.value }), as: UTF8.self)
        #expect(csv.contains("bob,u-bob,2026-06-24T06:00:00Z,\"Prod, EU\",150"), "150 days old, beyond CloudTrail's 90")
        #expect(csv.contains("ada,u-ada,2026-11-20T06:00:00Z,\"Prod, EU\",1"))
        #expect(ledger.evidence.withLock { $0["u-ada#role#111111111111#Admin"] } == date("2026-11-20T06:00:00Z"), "what was read is remembered")
    }

    @Test func aRunTheDeadlineStopsGoesOnFromWhereItStoppedToTheSameCSV() async throws {
        let asOf = date("2026-11-21T06:00:00Z")
        let (whole, wholeStore, wholeDirectory) = try makeReport(activity: Self.signIns, assignments: Self.assignments)
        #expect(try await whole.run(RunRequest(asOf: asOf), deadline: nil).finished().invocations == 1)

        // Each invocation gets six ticks of a clock that moves on a second each time it is read,
        // and one page of CloudTrail.
        let clock = TickingClock(asOf)
        let store = RecordingStore()
        let ledger = InMemoryLedger()
        var request = RunRequest(asOf: asOf)
        var continuations: [String] = []
        var calls = 0
        var finished: CredentialReportResult?
        while finished == nil, continuations.count < 50 {
            let (report, _, directory) = try makeReport(
                activity: Self.signIns, assignments: Self.assignments, ledger: ledger, store: store, now: clock.now, signInPagesPerInvocation: 1)
            switch try await report.run(request, deadline: clock.current.addingTimeInterval(6)) {
            case .incomplete(let paused):
                continuations.append(paused.continuation)
                #expect(paused.invocations == continuations.count)
                #expect(store.progressKeys.count == 1, "one progress object for the run")
                request = RunRequest(continuation: paused.continuation)
            case .complete(let result):
                finished = result
            }
            calls += directory.calls.value
        }

        let result = try #require(finished)
        #expect(continuations.count >= 2, "the deadline stopped the run more than once")
        #expect(Set(continuations).count == 1, "one run, one continuation")
        #expect(result.invocations == continuations.count + 1)
        #expect(try store.csv() == wholeStore.csv(), "the same CSV, byte for byte, as one uninterrupted run")
        #expect(calls == wholeDirectory.calls.value, "no SSO Admin listing read twice")
        #expect(store.progressKeys.isEmpty, "the progress is removed once the report is written")
    }

    @Test func aContinuationThisReportDidNotGiveIsAClearError() async throws {
        let (report, store, ssoAdmin) = try makeReport(assignments: Self.assignments)
        let unknown = "cr1." + String(repeating: "a", count: 32)
        let cases = [
            ("garbage", "is not one this report gave"),
            ("cr1.\(String(repeating: "z", count: 32))", "is not one this report gave"),
            (unknown, "is unknown or has expired"),
        ]
        for (continuation, message) in cases {
            let error = await #expect(throws: ReportRequestError.self) {
                _ = try await report.run(RunRequest(continuation: continuation), deadline: nil)
            }
            #expect(error?.description.contains(message) == true, "\(continuation): \(error?.description ?? "no error")")
        }
        store.objects.withLock { $0["reports/credential_reports/progress/\(String(repeating: "a", count: 32)).json"] = Data("{\"version\": 1, \"runId\":".utf8) }
        let corrupted = await #expect(throws: ReportRequestError.self) {
            _ = try await report.run(RunRequest(continuation: unknown), deadline: nil)
        }
        #expect(corrupted?.description.contains("is unreadable") == true)
        #expect(ssoAdmin.calls.value == 0, "nothing is read for a continuation that cannot go on")
    }

    @Test func aContinuationExpiresAndKeepsItsRunsAsOf() async throws {
        let store = RecordingStore()
        let started = date("2026-11-21T06:00:00Z")
        let (first, _, _) = try makeReport(assignments: Self.assignments, store: store, now: { started })
        guard case .incomplete(let paused) = try await first.run(RunRequest(), deadline: .distantPast) else {
            Issue.record("a deadline already passed stops the run")
            return
        }
        let (later, _, _) = try makeReport(assignments: Self.assignments, store: store, now: { started.addingTimeInterval(8 * 86_400) })
        let expired = await #expect(throws: ReportRequestError.self) {
            _ = try await later.run(RunRequest(continuation: paused.continuation), deadline: nil)
        }
        #expect(expired?.description.contains("has expired") == true)
        let (next, _, _) = try makeReport(assignments: Self.assignments, store: store, now: { started.addingTimeInterval(60) })
        let otherAsOf = await #expect(throws: ReportRequestError.self) {
            _ = try await next.run(RunRequest(asOf: date("2026-11-01T00:00:00Z"), continuation: paused.continuation), deadline: nil)
        }
        #expect(otherAsOf?.description.contains("goes on under its run's asOf (2026-11-21T06:00:00Z)") == true)
        #expect(try await next.run(RunRequest(continuation: paused.continuation), deadline: nil).finished().invocations == 2)
    }

    @Test func aDryRunThatDoesNotFitIsAClearErrorAndWritesNothing() async throws {
        let (report, store, _) = try makeReport(assignments: Self.assignments)
        let error = await #expect(throws: ReportRequestError.self) {
            _ = try await report.run(RunRequest(dryRun: true), deadline: .distantPast)
        }
        #expect(error?.description.contains("a dry run keeps no progress") == true)
        #expect(store.objects.withLock { $0.isEmpty })
    }

    @Test func aFailedListingOfNamesFailsTheRunInsteadOfWaitingForIt() async throws {
        let (report, store, _) = try makeReport(assignments: Self.assignments, provisioned: [
            admin.permissionSetArn: (0..<10).map { String(format: "%012d", $0 + 300_000_000_000) }])
        let failing = CredentialReport(
            configuration: report.configuration, directory: NamesRefused(directory: report.directory), activity: report.activity,
            ledger: report.ledger, store: store, requestCount: { 0 }, logger: report.logger, now: report.now)
        await #expect(throws: NamesRefused.Refused.self) {
            _ = try await failing.run(RunRequest(), deadline: nil)
        }
    }

    @Test func theResponseSaysWhetherTheRunIsComplete() throws {
        let paused = CredentialReportResponse.incomplete(PausedReport(continuation: "cr1.x", invocations: 1, apiCalls: 3, durationMs: 5, progressBytes: 7))
        let fields = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(paused)) as? [String: Any])
        #expect(fields["complete"] as? Bool == false)
        #expect(fields["continuation"] as? String == "cr1.x")
    }

    @Test func csvQuotesAndNeutralises() {
        #expect(CSVWriter.escaped("plain") == "plain")
        #expect(CSVWriter.escaped("a,b") == "\"a,b\"")
        #expect(CSVWriter.escaped("line\r\nbreak") == "\"line\r\nbreak\"")
        for dangerous in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            #expect(CSVWriter.neutralised(dangerous) == "'" + dangerous)
        }
        #expect(CSVWriter.neutralised("ada") == "ada")
    }
}

/// A directory whose users cannot be listed.
struct NamesRefused: AccessDirectory {
    struct Refused: Error {}
    let directory: any AccessDirectory

    func users(after token: String?) async throws -> ListingPage<NamedEntry> { throw Refused() }
    func permissionSetArns(after token: String?) async throws -> ListingPage<String> { try await directory.permissionSetArns(after: token) }
    func permissionSet(_ arn: String) async throws -> PermissionSet { try await directory.permissionSet(arn) }
    func accounts(provisionedWith arn: String, after token: String?) async throws -> ListingPage<String> {
        try await directory.accounts(provisionedWith: arn, after: token)
    }
    func assignments(accountId: String, permissionSetArn: String, after token: String?) async throws -> ListingPage<AccountAssignment> {
        try await directory.assignments(accountId: accountId, permissionSetArn: permissionSetArn, after: token)
    }
    func assignments(
        principalId: String, principalType: AccountAssignment.PrincipalType, after token: String?
    ) async throws -> ListingPage<AccountAssignment> {
        try await directory.assignments(principalId: principalId, principalType: principalType, after: token)
    }
    func userIds(inGroup groupId: String, after token: String?) async throws -> ListingPage<String> {
        try await directory.userIds(inGroup: groupId, after: token)
    }
    func groups(after token: String?) async throws -> ListingPage<NamedEntry> { try await directory.groups(after: token) }
    func accounts(after token: String?) async throws -> ListingPage<NamedEntry> { try await directory.accounts(after: token) }
}
