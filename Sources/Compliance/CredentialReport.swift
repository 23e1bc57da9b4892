import AWSClient
import FoundationEssentials
import Logging

/// credential-report: every (account, permission set, group, user) assignment path with the
/// user's last sign-in to that role, as CSV in S3 (PCI DSS 7.2.4).
public struct CredentialReport: Sendable {
    /// Two ways to find every assignment; the report takes the one that needs fewer calls.
    enum Enumeration: String, Codable {
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

    /// One invocation of a run: a new run, or the one `request.continuation` names, read on
    /// until it is complete or `deadline` passes. A complete run writes the CSV and its manifest;
    /// one the deadline stopped keeps its progress and answers the continuation to invoke with next.
    public func run(_ request: RunRequest, deadline: Date?) async throws -> CredentialReportResponse {
        let started = ContinuousClock.now
        let callsBefore = requestCount()
        let keeping = ProgressKeeping(store: store, folder: "\(configuration.prefix)progress/")
        let book = ProgressBook(try await startOrResume(request, keeping: keeping))
        let progress = book.progress
        let windowStart = progress.asOf.addingTimeInterval(-Double(progress.lookbackDays) * 86_400)
        let persist = !request.dryRun

        // CloudTrail is the slowest source (2 requests a second): it runs alongside everything else.
        async let signIns = roleSignIns(over: CoveredSpan(from: windowStart, until: progress.asOf), book: book, deadline: deadline, persist: persist)
        let limit = TimeLimit(deadline: deadline, now: now)
        let namesEnded = Counter()
        async let directoryNames = loadNames(book: book, within: limit, ended: namesEnded)
        let permissionSets = try await loadPermissionSets(book: book, within: limit)
        var provisioned: [String: [String]]?
        if let permissionSets {
            provisioned = try await loadProvisionedAccounts(permissionSets.map(\.permissionSetArn), book: book, within: limit)
        }
        // Assignments are listed while the names still are, when the enumeration allows it.
        var listed: (assignments: [AccountAssignment], members: [String: [String]])?
        if let provisioned,
            let enumeration = try await chooseEnumeration(provisioned: provisioned, book: book, within: limit, namesEnded: namesEnded)
        {
            listed = try await loadAssignmentsAndMembers(enumeration: enumeration, provisioned: provisioned, book: book, within: limit)
        }
        let names = try await directoryNames
        let roleSignIns = try await signIns

        let elapsed = ContinuousClock.now - started
        book.update {
            $0.invocations += 1
            $0.apiCalls += requestCount() - callsBefore
            $0.durationMs += Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        }
        guard let permissionSets, let provisioned, let names, let listed, let roleSignIns else {
            return .incomplete(try await pause(book, keeping: keeping, dryRun: request.dryRun))
        }
        let table = ReportTable(
            assignments: listed.assignments,
            permissionSets: Dictionary(uniqueKeysWithValues: permissionSets.map { ($0.permissionSetArn, $0) }), names: names,
            members: listed.members, lastSignIns: Self.latestSignIns(roleSignIns, matchedBy: names.matcher), asOf: progress.asOf)
        let result = try await finish(
            table, book: book, provisioned: provisioned, permissionSets: permissionSets.count, windowStart: windowStart,
            dryRun: request.dryRun, keeping: keeping)
        return .complete(result)
    }

    /// A new run's progress, or the progress a continuation names (under its own asOf and lookback).
    private func startOrResume(_ request: RunRequest, keeping: ProgressKeeping) async throws -> ReportProgress {
        let source = configuration.activitySource
        if let continuation = request.continuation {
            let progress = try await keeping.load(continuation, configuration: configuration, now: now())
            if let asOf = request.asOf, asOf != progress.asOf {
                throw ReportRequestError("a continuation goes on under its run's asOf (\(ISO8601UTC.format(progress.asOf))), not \(ISO8601UTC.format(asOf)): leave asOf out")
            }
            if let days = request.lookbackDays, days != progress.lookbackDays {
                throw ReportRequestError("a continuation goes on under its run's lookbackDays (\(progress.lookbackDays)), not \(days): leave lookbackDays out")
            }
            logger.info("Credential report: going on with run \(progress.runId) of \(ISO8601UTC.format(progress.asOf)), invocation \(progress.invocations + 1)")
            return progress
        }
        let lookbackDays = request.lookbackDays ?? configuration.lookbackDays
        guard lookbackDays <= source.maximumLookbackDays else {
            // Asked for more than the source holds, the report would silently cover less than it says.
            throw ReportRequestError(
                "lookbackDays \(lookbackDays) is more than the \(source.maximumLookbackDays) days \(source.name) can see; "
                    + "ask for at most \(source.maximumLookbackDays), or use ACTIVITY_SOURCE=lake for a longer window")
        }
        return ReportProgress(
            runId: ProgressKeeping.newRunId(), startedAt: now(), asOf: request.asOf ?? now(), lookbackDays: lookbackDays,
            instanceArn: configuration.instanceArn, identityStoreId: configuration.identityStoreId)
    }

    /// Keeps the progress of a run the deadline stopped, and answers how to go on.
    private func pause(_ book: ProgressBook, keeping: ProgressKeeping, dryRun: Bool) async throws -> PausedReport {
        guard !dryRun else {
            // A dry run writes nothing, its progress included (and the ledger does not record its read).
            throw ReportRequestError(
                "the report did not finish within one invocation, and a dry run keeps no progress to go on from: "
                    + "run it without dryRun (its invocations go on from one another), or with more time")
        }
        book.update { $0.apiCalls += 1 }  // the save that follows
        let progress = book.progress
        let progressBytes = try await keeping.save(progress)
        let continuation = keeping.continuation(for: progress)
        logger.info(
            "Credential report: run \(progress.runId) not finished when the time ran out (invocation \(progress.invocations), \(progress.apiCalls) API calls so far); progress kept (\(progressBytes) bytes), invoke with {\"continuation\": \"\(continuation)\"} to go on")
        return PausedReport(
            continuation: continuation, invocations: progress.invocations, apiCalls: progress.apiCalls, durationMs: progress.durationMs,
            progressBytes: progressBytes)
    }

    /// Writes the CSV and its manifest (unless a dry run), removes the run's progress, and answers the result.
    private func finish(
        _ table: ReportTable, book: ProgressBook, provisioned: [String: [String]], permissionSets: Int, windowStart: Date, dryRun: Bool,
        keeping: ProgressKeeping
    ) async throws -> CredentialReportResult {
        let progress = book.progress
        let stamp = Self.keyTimestamp(progress.asOf)
        let key = "\(configuration.prefix)credential_report-\(stamp).csv"
        if !dryRun {
            try await store.write(table.csv, key: key, contentType: "text/csv; charset=utf-8")
        }
        // The writes that follow the count: the CSV, the manifest that records the count, and the
        // removal of the progress a run of several invocations kept.
        let writes = dryRun ? 0 : 2 + (progress.invocations > 1 ? 1 : 0)
        let result = CredentialReportResult(
            s3Uri: store.location(of: key), rows: table.rowCount, users: table.userCount,
            accounts: Set(provisioned.values.joined()).count, permissionSets: permissionSets,
            apiCalls: progress.apiCalls + writes, durationMs: progress.durationMs, enumeration: progress.enumeration?.rawValue ?? "",
            dryRun: dryRun, invocations: progress.invocations)
        if !dryRun {
            let manifest = ReportManifest(
                report: result.s3Uri, generatedAt: ISO8601UTC.format(progress.asOf), windowStart: ISO8601UTC.format(windowStart),
                windowEnd: ISO8601UTC.format(progress.asOf), lookbackDays: progress.lookbackDays, activitySource: configuration.activitySource.name,
                identityStoreId: configuration.identityStoreId, instanceArn: configuration.instanceArn, rows: result.rows,
                users: result.users, accounts: result.accounts, permissionSets: result.permissionSets,
                enumeration: result.enumeration, apiCalls: result.apiCalls, invocations: result.invocations)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try await store.write(
                try encoder.encode(manifest), key: "\(configuration.prefix)credential_report-\(stamp).json", contentType: "application/json")
            if progress.invocations > 1 {
                try await keeping.remove(progress)
            }
        }
        logger.info(
            "Credential report: \(result.rows) rows for \(result.users) users, \(result.accounts) accounts, \(result.permissionSets) permission sets, \(result.apiCalls) API calls in \(result.durationMs) ms over \(result.invocations) invocation(s), \(dryRun ? "not written (dry run), would go to" : "written to") \(result.s3Uri)")
        return result
    }

    /// Role sign-ins: what the activity ledger remembers (recorded as they happened, or by an
    /// earlier report or invocation, however old), the old-format sign-ins earlier invocations
    /// read, and what CloudTrail holds where the ledger has not covered the window yet, recorded
    /// page by page as it is read. Nil when the time ran out before the window was covered.
    private func roleSignIns(over window: CoveredSpan, book: ProgressBook, deadline: Date?, persist: Bool) async throws -> [RoleSignIn]? {
        var read: [RoleSignIn] = []
        let reading = try await CoverageReader(source: activity, ledger: ledger, now: now).read(
            ActivityRules.roleSignInEvents, over: window, deadline: deadline, persist: persist
        ) { events in
            let page = events.compactMap(ActivityRules.roleSignIn)
            read += page
            if persist { try await remember(page) }
        }
        // Named by user name only, they are not in the ledger: the next invocations need them
        // (once each: the reads of two invocations overlap by CloudTrail's late delivery).
        book.update { progress in
            var known = Set(progress.unattributedSignIns)
            progress.unattributedSignIns += read.filter { $0.userId == nil && known.insert($0).inserted }
        }
        guard reading.complete else { return nil }
        return try await ledger.roleSignIns().filter { $0.time <= window.until } + book.read(\.unattributedSignIns)
            + read.filter { $0.userId != nil }
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

    /// Users, groups and accounts by name; nil when the time ran out first.
    /// `ended` counts one when the listing is over, whichever way.
    private func loadNames(book: ProgressBook, within limit: TimeLimit, ended: Counter) async throws -> DirectoryNames? {
        defer { ended.add() }
        async let users = resume(book.read(\.users), within: limit, page: { try await directory.users(after: $0) }) { listing in book.update { $0.users = listing } }
        async let groups = resume(book.read(\.groups), within: limit, page: { try await directory.groups(after: $0) }) { listing in book.update { $0.groups = listing } }
        async let accounts = resume(book.read(\.accounts), within: limit, page: { try await directory.accounts(after: $0) }) { listing in book.update { $0.accounts = listing } }
        guard let users = try await users, let groups = try await groups, let accounts = try await accounts else { return nil }
        return DirectoryNames(users: users, groups: groups, accounts: accounts)
    }

    /// Every permission set, described once across invocations; nil when the time ran out first.
    private func loadPermissionSets(book: ProgressBook, within limit: TimeLimit) async throws -> [PermissionSet]? {
        let listed = try await resume(book.read(\.permissionSetArns), within: limit, page: { try await directory.permissionSetArns(after: $0) }) { listing in
            book.update { $0.permissionSetArns = listing }
        }
        guard let arns = listed else { return nil }
        let described = try await concurrentMap(arns) { [directory] arn -> PermissionSet? in
            if let known = book.read({ $0.permissionSets[arn] }) { return known }
            if limit.isUp { return nil }
            let permissionSet = try await directory.permissionSet(arn)
            book.update { $0.permissionSets[arn] = permissionSet }
            return permissionSet
        }
        let all = described.compactMap { $0 }
        return all.count == arns.count ? all : nil
    }

    /// The accounts each permission set is provisioned to; nil when the time ran out first.
    private func loadProvisionedAccounts(_ permissionSetArns: [String], book: ProgressBook, within limit: TimeLimit) async throws -> [String: [String]]? {
        let accounts = try await concurrentMap(permissionSetArns) { [directory] arn in
            try await resume(book.read { $0.provisioned[arn] ?? Listing() }, within: limit, page: { try await directory.accounts(provisionedWith: arn, after: $0) }) { listing in
                book.update { $0.provisioned[arn] = listing }
            }
        }
        let complete = accounts.compactMap { $0 }
        guard complete.count == permissionSetArns.count else { return nil }
        return Dictionary(uniqueKeysWithValues: zip(permissionSetArns, complete))
    }

    /// The enumeration a run takes, the one that needs fewer calls, kept for its later invocations.
    /// By (account, permission set) pair as soon as the users and groups listed so far are at least
    /// as many as the pairs: the names go on listing alongside the assignments, and Identity Store's
    /// rate budget is spent while SSO Admin's is. Otherwise the choice waits for every user and
    /// group to be listed. Nil when the time ran out first, or the names' listing ended without
    /// listing them all (its error is the run's).
    private func chooseEnumeration(
        provisioned: [String: [String]], book: ProgressBook, within limit: TimeLimit, namesEnded: Counter
    ) async throws -> Enumeration? {
        if let chosen = book.read(\.enumeration) { return chosen }
        let pairs = provisioned.reduce(0) { $0 + $1.value.count }
        while true {
            let (principals, allListed) = book.read { ($0.users.items.count + $0.groups.items.count, $0.users.done && $0.groups.done) }
            if principals >= pairs || allListed {
                let enumeration: Enumeration = pairs <= principals ? .perAccountAndPermissionSet : .perPrincipal
                logger.info(
                    "Enumerating assignments \(enumeration.rawValue): \(pairs) account and permission set pairs against \(principals) users and groups\(allListed ? "" : " listed so far")")
                book.update { $0.enumeration = enumeration }
                return enumeration
            }
            if limit.isUp || namesEnded.value > 0 { return nil }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Every provisioned assignment, and the user members of each group assigned; nil when the
    /// time ran out first. A group's members are listed as soon as an assignment names the group,
    /// while SSO Admin is still listing assignments: Identity Store's rate budget is spent
    /// alongside SSO Admin's.
    private func loadAssignmentsAndMembers(
        enumeration: Enumeration, provisioned: [String: [String]], book: ProgressBook, within limit: TimeLimit
    ) async throws -> (assignments: [AccountAssignment], members: [String: [String]])? {
        let (groupsFound, announceGroup) = AsyncStream.makeStream(of: String.self)
        async let members = loadMembers(of: groupsFound, book: book, within: limit)
        let assignments: [AccountAssignment]?
        do {
            defer { announceGroup.finish() }
            // Groups an earlier invocation found: their members may still be listing.
            for listing in book.read({ $0.assignments.values.map(\.items) }) {
                for assignment in listing where assignment.principalType == .group { announceGroup.yield(assignment.principalId) }
            }
            assignments = try await loadAssignments(enumeration, provisioned: provisioned, book: book, within: limit) {
                announceGroup.yield($0)
            }
        }
        guard let listedMembers = try await members, let assignments else { return nil }
        return (assignments, listedMembers)
    }

    /// Every provisioned assignment; `groupFound` hears of each group assignment as it arrives.
    private func loadAssignments(
        _ enumeration: Enumeration, provisioned: [String: [String]], book: ProgressBook, within limit: TimeLimit,
        groupFound: @escaping @Sendable (String) -> Void
    ) async throws -> [AccountAssignment]? {
        let pages: [[AccountAssignment]?]
        switch enumeration {
        case .perAccountAndPermissionSet:
            let pairs = provisioned.flatMap { arn, accounts in accounts.map { (account: $0, permissionSet: arn) } }
            pages = try await concurrentMap(pairs) { [directory] pair in
                let key = "pair/\(pair.account)/\(pair.permissionSet)"
                return try await resume(book.read { $0.assignments[key] ?? Listing() }, within: limit) { token in
                    let page = try await directory.assignments(accountId: pair.account, permissionSetArn: pair.permissionSet, after: token)
                    for assignment in page.items where assignment.principalType == .group { groupFound(assignment.principalId) }
                    return page
                } record: { listing in
                    book.update { $0.assignments[key] = listing }
                }
            }
        case .perPrincipal:
            // Chosen only once every user and group is listed.
            let principals = book.read { progress in
                Set(progress.users.items.map(\.id)).map { ($0, AccountAssignment.PrincipalType.user) }
                    + Set(progress.groups.items.map(\.id)).map { ($0, .group) }
            }
            pages = try await concurrentMap(principals) { [directory] principal in
                let key = "\(principal.1.rawValue)/\(principal.0)"
                // Only what is provisioned, as the other enumeration sees it.
                return try await resume(book.read { $0.assignments[key] ?? Listing() }, within: limit) { token in
                    let page = try await directory.assignments(principalId: principal.0, principalType: principal.1, after: token)
                    let found = page.items.filter { provisioned[$0.permissionSetArn]?.contains($0.accountId) ?? false }
                    if principal.1 == .group, !found.isEmpty { groupFound(principal.0) }
                    return ListingPage(items: found, next: page.next)
                } record: { listing in
                    book.update { $0.assignments[key] = listing }
                }
            }
        }
        let complete = pages.compactMap { $0 }
        return complete.count == pages.count ? complete.flatMap { $0 } : nil
    }

    /// The user members of each group `groups` names (once each), listed as the names arrive;
    /// nil when the time ran out first.
    private func loadMembers(of groups: AsyncStream<String>, book: ProgressBook, within limit: TimeLimit) async throws -> [String: [String]]? {
        try await withThrowingTaskGroup(of: (String, [String]?).self) { tasks in
            var listed = Set<String>()
            var members: [String: [String]] = [:]
            var complete = true
            var running = 0
            func take(_ done: (String, [String]?)) {
                if let users = done.1 { members[done.0] = users } else { complete = false }
                running -= 1
            }
            for await groupId in groups where listed.insert(groupId).inserted {
                if running == configuration.concurrency, let done = try await tasks.next() { take(done) }
                tasks.addTask { [directory] in
                    let users = try await resume(book.read { $0.members[groupId] ?? Listing() }, within: limit) { token in
                        try await directory.userIds(inGroup: groupId, after: token)
                    } record: { listing in
                        book.update { $0.members[groupId] = listing }
                    }
                    return (groupId, users)
                }
                running += 1
            }
            for try await done in tasks { take(done) }
            return complete ? members : nil
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
