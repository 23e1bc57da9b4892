import FoundationEssentials
import Logging

/// What a monitor invocation found and did.
public struct MonitorSummary: Sendable, Encodable, Equatable {
    public let alertType: String
    public let asOf: String
    public let activitySource: String
    public let dryRun: Bool
    public let usersChecked: Int
    public let expired: Int
    public let warning: Int
    /// SCIM users the password monitor leaves to their identity provider.
    public let skipped: Int
    public let excluded: Int
    /// Items recorded for another identity store: not this store's users, so not judged here.
    public let otherStore: Int
    /// Flagged users the identity store reports `DISABLED` now: the control is met, no alert.
    public let disabled: Int
    /// Flagged users the identity store no longer holds (their DeleteUser not yet seen): no alert.
    public let gone: Int
    public let evidenceRecorded: Int
    public let messagesSent: Int
    /// Security Hub findings imported as failed or warning (FINDINGS=securityhub).
    public let findingsOpen: Int
    /// Findings of users no longer flagged, imported again as passed and archived.
    public let findingsArchived: Int
    /// A catch-up: CloudTrail read and recorded, nobody judged.
    public let catchUp: Bool
    /// Whether CloudTrail has been read over the whole window; a judging run alerts only then.
    public let coverageComplete: Bool
    /// The span of CloudTrail read for this control so far, as ISO 8601; nil before any read.
    public let coveredFrom: String?
    public let coveredUntil: String?
}

/// password-expiry-monitor and inactivity-monitor: read CloudTrail where the activity ledger has
/// not yet (remembering the newest evidence in the registry as it goes), then judge every registry
/// user against one control and alert on who is expired or close to it, but only once CloudTrail
/// is read over the whole window. Nothing is kept between warm invocations but what is written.
public struct ComplianceMonitor: Sendable {
    /// LookupEvents holds 90 days; so does the window the monitors read.
    static let cloudTrailWindowDays = 90
    /// What a judging run keeps of its invocation, after reading, to check the store and alert.
    static let judgingTime: TimeInterval = 30

    let configuration: MonitorConfiguration
    let registry: any Registry
    let ledger: any ActivityLedger
    let directory: any UserDirectory
    let activity: any ActivitySource
    let alerts: any AlertSink
    /// Where judging runs keep their findings; nil without `FINDINGS=securityhub`.
    public var findings: (any FindingStore)?
    /// Whether a failure passes (throttling, a transient fault): a queued event that met one is
    /// left on its queue to try again. The AWS client's retry policy knows which failures pass.
    let isPassingFailure: @Sendable (any Error) -> Bool
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        configuration: MonitorConfiguration, registry: any Registry, ledger: any ActivityLedger, directory: any UserDirectory,
        activity: any ActivitySource, alerts: any AlertSink, findings: (any FindingStore)? = nil,
        isPassingFailure: @escaping @Sendable (any Error) -> Bool, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.registry = registry
        self.ledger = ledger
        self.directory = directory
        self.activity = activity
        self.alerts = alerts
        self.findings = findings
        self.isPassingFailure = isPassingFailure
        self.logger = logger
        self.now = now
    }

    public func run(_ request: RunRequest, deadline: Date?) async throws -> MonitorSummary {
        let asOf = request.asOf ?? now()
        let population = try await loadPopulation()
        let window = CoveredSpan(from: asOf.addingTimeInterval(-Double(Self.cloudTrailWindowDays) * 86_400), until: asOf)
        let reading = try await readCloudTrail(
            over: window, for: population.registered, persist: !request.dryRun,
            deadline: request.catchUp ? deadline : deadline?.addingTimeInterval(-Self.judgingTime))
        guard !request.catchUp, reading.outcome.complete else {
            return summarise(reading, of: population, over: window, request: request, asOf: asOf)
        }
        return try await judge(population, with: reading, request: request, asOf: asOf)
    }

    /// The registry's users of this store, and who of them the control judges.
    struct Population {
        var registered: [RegistryUser]
        var judged: [RegistryUser]
        var excluded: Int
        var skipped: Int
        var otherStore: Int
    }

    private func loadPopulation() async throws -> Population {
        let everyone = try await registry.allUsers()
        // An item with no store recorded (written by an older tool) is judged: never a silent skip.
        let registered = everyone.filter { $0.identityStoreId == configuration.identityStoreId || $0.identityStoreId.isEmpty }
        let otherStore = everyone.count - registered.count
        if otherStore > 0 {
            logger.warning("\(otherStore) registry users belong to another identity store than \(configuration.identityStoreId): not judged here")
        }
        let passwords = configuration.control == .passwordExpiry
        return Population(
            registered: registered, judged: registered.filter { !isExcluded($0) && !(passwords && $0.origin == .scim) },
            excluded: registered.count(where: isExcluded), skipped: passwords ? registered.count { $0.origin == .scim && !isExcluded($0) } : 0,
            otherStore: otherStore)
    }

    /// What a run learnt from CloudTrail: the newest evidence per user, and how much is covered.
    struct Reading {
        var tally: EvidenceTally
        var evidenceRecorded: Int
        var outcome: CoverageReader.Outcome
    }

    /// Reads CloudTrail where the ledger has no coverage of `window`, remembering the newest
    /// evidence as it goes (unless `persist` is false: a dry run).
    private func readCloudTrail(over window: CoveredSpan, for users: [RegistryUser], persist: Bool, deadline: Date?) async throws -> Reading {
        let kind = evidenceKind
        var tally = EvidenceTally(users: users, kind: kind)
        var evidenceRecorded = 0
        let outcome = try await CoverageReader(source: activity, ledger: ledger, now: now).read(
            ActivityRules.eventNames(of: kind), over: window, deadline: deadline, persist: persist
        ) { events in
            let news = tally.add(events.compactMap { ActivityRules.evidence(of: kind, in: $0) }, notAfter: window.until)
            guard persist else { return }
            evidenceRecorded += try await remember(news, kind, updatedAt: now())
        }
        return Reading(tally: tally, evidenceRecorded: evidenceRecorded, outcome: outcome)
    }

    /// A catch-up's summary, or a judging run's over a window not yet read whole: nobody judged.
    private func summarise(_ reading: Reading, of population: Population, over window: CoveredSpan, request: RunRequest, asOf: Date)
        -> MonitorSummary
    {
        let control = configuration.control.rawValue
        let from = reading.outcome.covered.map { ISO8601UTC.format($0.from) }
        let until = reading.outcome.covered.map { ISO8601UTC.format($0.until) }
        if reading.outcome.complete {
            logger.info("\(control) catch-up: CloudTrail read over \(from ?? "-") to \(until ?? "-"), \(reading.evidenceRecorded) dates recorded")
        } else {
            logger.warning(
                "\(control): CloudTrail read over \(from ?? "nothing") to \(until ?? "nothing") of the window \(ISO8601UTC.format(window.from)) to \(ISO8601UTC.format(window.until)) when the time ran out; \(reading.evidenceRecorded) dates recorded, nobody judged: the next run goes on from there")
        }
        return MonitorSummary(
            alertType: control, asOf: ISO8601UTC.format(asOf), activitySource: configuration.activitySource.name, dryRun: request.dryRun,
            usersChecked: 0, expired: 0, warning: 0, skipped: population.skipped, excluded: population.excluded,
            otherStore: population.otherStore, disabled: 0, gone: 0, evidenceRecorded: reading.evidenceRecorded, messagesSent: 0,
            findingsOpen: 0, findingsArchived: 0, catchUp: request.catchUp, coverageComplete: reading.outcome.complete, coveredFrom: from, coveredUntil: until)
    }

    /// Judges everyone over a window read whole, and alerts on who is flagged and still enabled.
    private func judge(_ population: Population, with reading: Reading, request: RunRequest, asOf: Date) async throws -> MonitorSummary {
        let control = configuration.control
        let kind = evidenceKind
        var evidenceRecorded = reading.evidenceRecorded
        let known = reading.tally.newest
        let onCloudTrail = population.judged.map { verdict(for: $0, cloudTrailDate: known[$0.userId], asOf: asOf) }
        let flaggedBeforeLedger = zip(population.judged, onCloudTrail).filter { $0.1.status != .compliant }.map(\.0)
        // Evidence read while a user was not yet in the registry is in the ledger.
        let fromLedger = try await evidenceInLedger(for: flaggedBeforeLedger, kind, notAfter: asOf, newerThan: known)
        if !request.dryRun {
            let news = EvidenceTally.News(registered: fromLedger.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            evidenceRecorded += try await remember(news, kind, updatedAt: now())
        }
        // Only users the ledger knows something newer of are judged again.
        let judgedVerdicts = zip(population.judged, onCloudTrail).map { user, judged in
            fromLedger[user.userId].map { verdict(for: user, cloudTrailDate: $0, asOf: asOf) } ?? judged
        }
        // Disabled and deleted users have met the control: check the store's state of everyone
        // about to be flagged, since the registry's copy is only as fresh as the last reconcile.
        let flagged = judgedVerdicts.filter { $0.status != .compliant }.map(\.userId)
        let states = try await StoreStateCheck(directory: directory)
            .states(of: flagged, storeSize: population.registered.count)
        let verdicts = judgedVerdicts.filter { (states[$0.userId] ?? .enabled) == .enabled }
        let disabled = states.values.count { $0 == .disabled }
        let gone = states.values.count { $0 == .gone }

        var messagesSent = 0
        var kept = (open: 0, archived: 0)
        if !request.dryRun {
            let messages = try AlertMessage.alerts(
                for: verdicts, control: control, generatedAt: asOf, identityStoreId: configuration.identityStoreId,
                thresholdDays: configuration.thresholdDays, warningDays: configuration.warningDays)
            if !messages.isEmpty {
                try await alerts.send(messages)
            }
            messagesSent = messages.count
            if let findings {
                kept = try await keepFindings(verdicts, in: findings, asOf: asOf)
            }
        }
        let summary = MonitorSummary(
            alertType: control.rawValue, asOf: ISO8601UTC.format(asOf), activitySource: configuration.activitySource.name,
            dryRun: request.dryRun, usersChecked: population.judged.count,
            expired: verdicts.count { $0.status == .expired }, warning: verdicts.count { $0.status == .warning },
            skipped: population.skipped, excluded: population.excluded, otherStore: population.otherStore, disabled: disabled, gone: gone,
            evidenceRecorded: evidenceRecorded, messagesSent: messagesSent, findingsOpen: kept.open, findingsArchived: kept.archived,
            catchUp: false, coverageComplete: true,
            coveredFrom: reading.outcome.covered.map { ISO8601UTC.format($0.from) },
            coveredUntil: reading.outcome.covered.map { ISO8601UTC.format($0.until) })
        logger.info(
            "\(control.rawValue): \(summary.usersChecked) users checked as of \(summary.asOf), \(summary.expired) expired, \(summary.warning) warning, \(summary.skipped) skipped (SCIM), \(summary.excluded) excluded, \(disabled) disabled and \(gone) gone from the store (not alerted), \(summary.messagesSent) alert messages sent\(request.dryRun ? " (dry run: nothing sent or written)" : "")")
        for flagged in verdicts where flagged.status != .compliant {
            logger.debug("\(flagged.status.rawValue): \(flagged.userName) (\(flagged.userId)), \(flagged.daysSince.map { "\($0) days" } ?? "no evidence")")
        }
        return summary
    }

    /// One finding per flagged user, updated in place run after run; the open findings of users
    /// no longer flagged (a new sign-in, disabled, deleted, excluded) are passed and archived.
    /// Who was flagged before is read from the findings themselves: one request per 100 open
    /// findings, and no copy of ours to drift from what the security team sees.
    private func keepFindings(_ verdicts: [Verdict], in findings: any FindingStore, asOf: Date) async throws -> (open: Int, archived: Int) {
        let control = configuration.control
        let store = configuration.identityStoreId
        let open = try await findings.openFindings(of: control, identityStoreId: store)
        let updatedAt = now()
        let flagged = verdicts.filter { $0.status != .compliant }
        let current = flagged.map { verdict in
            ComplianceFinding(
                control: control, identityStoreId: store, userId: verdict.userId, userName: verdict.userName,
                standing: verdict.status == .expired ? .failed : .warning, lastEventAt: verdict.lastEventAt, daysSince: verdict.daysSince,
                firstSeen: open[verdict.userId]?.firstSeen ?? asOf, updatedAt: updatedAt)
        }
        let stillFlagged = Set(flagged.map(\.userId))
        let resolved = open.filter { !stillFlagged.contains($0.key) }.sorted { $0.key < $1.key }.map { userId, finding in
            ComplianceFinding(
                control: control, identityStoreId: store, userId: userId, userName: finding.userName, standing: .passed, lastEventAt: nil,
                daysSince: nil, firstSeen: finding.firstSeen, updatedAt: updatedAt)
        }
        try await findings.keep(current + resolved)
        logger.info("\(control.rawValue): \(current.count) findings open, \(resolved.count) archived as passed")
        return (current.count, resolved.count)
    }

    func verdict(for user: RegistryUser, cloudTrailDate: Date?, asOf: Date) -> Verdict {
        let remembered = configuration.control == .passwordExpiry ? user.lastPasswordChangeAt : user.lastSignInAt
        // The newest evidence known; a user's creation stands in for both (the first password,
        // and a grace period before the first sign-in) when there is no other.
        let lastEvent = [cloudTrailDate, remembered].compactMap { $0 }.max() ?? user.createdAt
        let daysSince = lastEvent.map { $0.wholeDays(until: asOf) }
        return Verdict(
            userId: user.userId, userName: user.userName,
            status: ComplianceStatus(daysSince: daysSince, thresholdDays: configuration.thresholdDays, warningDays: configuration.warningDays),
            lastEventAt: lastEvent, daysSince: daysSince)
    }

    /// Writes what a page proved: newer dates into the registry, so the evidence outlives
    /// CloudTrail's 90 days, and the dates of users the registry does not hold into the ledger.
    /// Returns how many registry users had something new.
    private func remember(_ news: EvidenceTally.News, _ kind: EvidenceKind, updatedAt: Date) async throws -> Int {
        try await forEachConcurrently(news.registered, limit: 8) { [registry] update in
            _ = try await registry.recordEvidence(userId: update.userId, kind, at: update.date, updatedAt: updatedAt)
        }
        try await forEachConcurrently(news.unregistered, limit: 8) { [ledger] update in
            try await ledger.recordEvidence(userId: update.userId, kind, at: update.date, updatedAt: updatedAt)
        }
        return news.registered.count
    }

    /// The ledger's dates for `users` that are newer than what the run knows.
    private func evidenceInLedger(for users: [RegistryUser], _ kind: EvidenceKind, notAfter limit: Date, newerThan known: [String: Date])
        async throws -> [String: Date]
    {
        let found = try await mapConcurrently(users.map(\.userId), limit: 8) { [ledger] userId in
            (userId, try await ledger.evidence(userId: userId, kind))
        }
        var newer: [String: Date] = [:]
        for case let (userId, date?) in found where date <= limit && known[userId].map({ date > $0 }) ?? true {
            newer[userId] = date
        }
        return newer
    }

    /// The kind of evidence this monitor's control rests on.
    var evidenceKind: EvidenceKind { configuration.control == .passwordExpiry ? .passwordChange : .signIn }

    private func isExcluded(_ user: RegistryUser) -> Bool {
        configuration.excludedUsers.contains(user.userName.lowercased()) || configuration.excludedUsers.contains(user.userId.lowercased())
    }
}
