import AWSClient
import FoundationEssentials
import Logging

/// credential-report: every (account, permission set, group, user) assignment path with the
/// user's last sign-in to that role, as CSV in S3 (PCI DSS 7.2.4).
public struct CredentialReport: Sendable {
    /// Two ways to find every assignment; the report takes the one that needs fewer calls.
    enum Enumeration: String {
        /// ListAccountAssignments for every (account, permission set) pair provisioned.
        case perAccountAndPermissionSet = "per-account-and-permission-set"
        /// ListAccountAssignmentsForPrincipal for every user and group.
        case perPrincipal = "per-principal"
    }

    let configuration: CredentialReportConfiguration
    let directory: any AccessDirectory
    let activity: any ActivitySource
    let ledger: any ActivityLedger
    let store: any ReportStore
    let requestCount: @Sendable () -> Int
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        configuration: CredentialReportConfiguration, directory: any AccessDirectory, activity: any ActivitySource, ledger: any ActivityLedger, store: any ReportStore,
        requestCount: @escaping @Sendable () -> Int, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.directory = directory
        self.activity = activity
        self.ledger = ledger
        self.store = store
        self.requestCount = requestCount
        self.logger = logger
        self.now = now
    }

    public func run(_ request: RunRequest, deadline: Date?) async throws -> CredentialReportResult {
        let started = ContinuousClock.now
        let callsBefore = requestCount()
        let asOf = request.asOf ?? now()
        let lookbackDays = request.lookbackDays ?? configuration.lookbackDays
        let source = configuration.activitySource
        guard lookbackDays <= source.maximumLookbackDays else {
            // Asked for more than the source holds, the report would silently cover less than it says.
            throw ReportRequestError(
                "lookbackDays \(lookbackDays) is more than the \(source.maximumLookbackDays) days \(source.name) can see; "
                    + "ask for at most \(source.maximumLookbackDays), or use ACTIVITY_SOURCE=lake for a longer window")
        }
        let windowStart = asOf.addingTimeInterval(-Double(lookbackDays) * 86_400)

        // CloudTrail is the slowest source (2 requests a second): it runs alongside everything else.
        async let signIns = roleSignIns(over: CoveredSpan(from: windowStart, until: asOf), deadline: deadline, persist: !request.dryRun)
        async let directoryNames = DirectoryNames.load(from: directory)
        let permissionSets = try await loadPermissionSets()
        let provisioned = try await loadProvisionedAccounts(permissionSets.map(\.permissionSetArn))
        let names = try await directoryNames

        let pairs = provisioned.reduce(0) { $0 + $1.value.count }
        let principals = names.users.count + names.groups.count
        let enumeration: Enumeration = pairs <= principals ? .perAccountAndPermissionSet : .perPrincipal
        logger.info("Enumerating assignments \(enumeration.rawValue): \(pairs) account and permission set pairs against \(principals) users and groups")
        // A group's members are listed as soon as an assignment names the group, while SSO Admin is
        // still listing assignments: Identity Store's rate budget is spent alongside SSO Admin's.
        let (groupsFound, announceGroup) = AsyncStream.makeStream(of: String.self)
        async let groupMembers = loadMembers(of: groupsFound)
        let assignments: [AccountAssignment]
        do {
            defer { announceGroup.finish() }
            assignments = try await loadAssignments(enumeration, provisioned: provisioned, names: names) { announceGroup.yield($0) }
        }
        let members = try await groupMembers

        let lastSignIns = Self.latestSignIns(try await signIns, matchedBy: names.matcher)
        let table = ReportTable(
            assignments: assignments, permissionSets: Dictionary(uniqueKeysWithValues: permissionSets.map { ($0.permissionSetArn, $0) }),
            names: names, members: members, lastSignIns: lastSignIns, asOf: asOf)

        let stamp = Self.keyTimestamp(asOf)
        let key = "\(configuration.prefix)credential_report-\(stamp).csv"
        if !request.dryRun {
            try await store.write(table.csv, key: key, contentType: "text/csv; charset=utf-8")
        }

        let elapsed = ContinuousClock.now - started
        // + 1: the manifest's own PUT, which follows and records this count.
        let manifestCall = request.dryRun ? 0 : 1
        let result = CredentialReportResult(
            s3Uri: store.location(of: key), rows: table.rowCount, users: table.userCount,
            accounts: Set(provisioned.values.joined()).count, permissionSets: permissionSets.count,
            apiCalls: requestCount() - callsBefore + manifestCall,
            durationMs: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
            enumeration: enumeration.rawValue, dryRun: request.dryRun)
        if !request.dryRun {
            let manifest = ReportManifest(
                report: result.s3Uri, generatedAt: ISO8601UTC.format(asOf), windowStart: ISO8601UTC.format(windowStart),
                windowEnd: ISO8601UTC.format(asOf), lookbackDays: lookbackDays, activitySource: configuration.activitySource.name,
                identityStoreId: configuration.identityStoreId, instanceArn: configuration.instanceArn, rows: result.rows,
                users: result.users, accounts: result.accounts, permissionSets: result.permissionSets,
                enumeration: result.enumeration, apiCalls: result.apiCalls)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try await store.write(
                try encoder.encode(manifest), key: "\(configuration.prefix)credential_report-\(stamp).json", contentType: "application/json")
        }
        logger.info(
            "Credential report: \(result.rows) rows for \(result.users) users, \(result.accounts) accounts, \(result.permissionSets) permission sets, \(result.apiCalls) API calls in \(result.durationMs) ms, \(request.dryRun ? "not written (dry run), would go to" : "written to") \(result.s3Uri)")
        return result
    }

    /// Role sign-ins: what the activity ledger remembers (recorded as they happened, or by an
    /// earlier report, however old), and what CloudTrail holds where the ledger has not covered
    /// the window yet, recorded page by page as it is read.
    private func roleSignIns(over window: CoveredSpan, deadline: Date?, persist: Bool) async throws -> [RoleSignIn] {
        var read: [RoleSignIn] = []
        let reading = try await CoverageReader(source: activity, ledger: ledger, now: now).read(
            ActivityRules.roleSignInEvents, over: window, deadline: deadline, persist: persist
        ) { events in
            let page = events.compactMap(ActivityRules.roleSignIn)
            read += page
            if persist { try await remember(page) }
        }
        guard reading.complete else {
            throw LookupEventsTimeLimit(
                eventName: ActivityRules.roleSignInEvents.joined(separator: ", "), eventsRead: read.count,
                oldestRead: read.map(\.time).min(), windowStart: window.from)
        }
        return try await ledger.roleSignIns().filter { $0.time <= window.until } + read
    }

    /// A page's newest sign-in to each role, for the users it names by id (old-format events,
    /// which name users only, are older than CloudTrail's 90 days by now).
    private func remember(_ page: [RoleSignIn]) async throws {
        var newest: [SignInKey: Date] = [:]
        for signIn in page {
            guard let userId = signIn.userId else { continue }
            let key = SignInKey(accountId: signIn.accountId, roleName: signIn.roleName, userId: userId)
            newest[key] = max(newest[key] ?? signIn.time, signIn.time)
        }
        try await forEachConcurrently(Array(newest), limit: 8) { [ledger, now] key, time in
            _ = try await ledger.recordRoleSignIn(userId: key.userId, accountId: key.accountId, roleName: key.roleName, at: time, updatedAt: now())
        }
    }

    private func loadPermissionSets() async throws -> [PermissionSet] {
        try await concurrentMap(try await directory.permissionSetArns()) { [directory] arn in try await directory.permissionSet(arn) }
    }

    private func loadProvisionedAccounts(_ permissionSetArns: [String]) async throws -> [String: [String]] {
        let accounts = try await concurrentMap(permissionSetArns) { [directory] arn in try await directory.accounts(provisionedWith: arn) }
        return Dictionary(uniqueKeysWithValues: zip(permissionSetArns, accounts))
    }

    /// Every provisioned assignment; `groupFound` hears of each group assignment as it arrives.
    private func loadAssignments(
        _ enumeration: Enumeration, provisioned: [String: [String]], names: DirectoryNames,
        groupFound: @escaping @Sendable (String) -> Void
    ) async throws -> [AccountAssignment] {
        let pages: [[AccountAssignment]]
        switch enumeration {
        case .perAccountAndPermissionSet:
            let pairs = provisioned.flatMap { arn, accounts in accounts.map { (account: $0, permissionSet: arn) } }
            pages = try await concurrentMap(pairs) { [directory] pair in
                let found = try await directory.assignments(accountId: pair.account, permissionSetArn: pair.permissionSet)
                for assignment in found where assignment.principalType == .group { groupFound(assignment.principalId) }
                return found
            }
        case .perPrincipal:
            let principals = names.users.keys.map { ($0, AccountAssignment.PrincipalType.user) } + names.groups.keys.map { ($0, .group) }
            pages = try await concurrentMap(principals) { [directory] principal in
                // Only what is provisioned, as the other enumeration sees it.
                let found = try await directory.assignments(principalId: principal.0, principalType: principal.1)
                    .filter { provisioned[$0.permissionSetArn]?.contains($0.accountId) ?? false }
                if principal.1 == .group, !found.isEmpty { groupFound(principal.0) }
                return found
            }
        }
        return pages.flatMap { $0 }
    }

    /// The user members of each group `groups` names (once each), listed as the names arrive.
    private func loadMembers(of groups: AsyncStream<String>) async throws -> [String: [String]] {
        try await withThrowingTaskGroup(of: (String, [String]).self) { tasks in
            var listed = Set<String>()
            var members: [String: [String]] = [:]
            var running = 0
            for await groupId in groups where listed.insert(groupId).inserted {
                if running == configuration.concurrency, let (done, users) = try await tasks.next() {
                    members[done] = users
                    running -= 1
                }
                tasks.addTask { [directory] in (groupId, try await directory.userIds(inGroup: groupId)) }
                running += 1
            }
            for try await (done, users) in tasks { members[done] = users }
            return members
        }
    }

    private func concurrentMap<Input: Sendable, Output: Sendable>(
        _ inputs: [Input], _ transform: @escaping @Sendable (Input) async throws -> Output
    ) async throws -> [Output] {
        try await mapConcurrently(inputs, limit: configuration.concurrency, transform)
    }

    /// The latest sign-in per (account, role, user id); old-format events are matched by user name.
    static func latestSignIns(_ signIns: [RoleSignIn], matchedBy matcher: UserMatcher) -> [SignInKey: Date] {
        var latest: [SignInKey: Date] = [:]
        for signIn in signIns {
            guard let userId = matcher.userId(id: signIn.userId, name: signIn.userName) else { continue }
            let key = SignInKey(accountId: signIn.accountId, roleName: signIn.roleName, userId: userId)
            if latest[key].map({ signIn.time > $0 }) ?? true { latest[key] = signIn.time }
        }
        return latest
    }

    /// `2026-11-21T060000Z`, the key's timestamp.
    static func keyTimestamp(_ date: Date) -> String {
        ISO8601UTC.format(date).replacing(":", with: "")
    }
}
