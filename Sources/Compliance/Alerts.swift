import FoundationEssentials

/// The SQS message body of docs/contract.md, "Alerts out".
struct AlertMessage: Encodable {
    struct User: Encodable {
        let userId: String
        let userName: String
        let status: ComplianceStatus
        let lastEventAt: String?
        let daysSince: Int?

        enum CodingKeys: String, CodingKey { case userId, userName, status, lastEventAt, daysSince }

        /// `lastEventAt` and `daysSince` are written as null, not left out, when unknown.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userId, forKey: .userId)
            try container.encode(userName, forKey: .userName)
            try container.encode(status, forKey: .status)
            try container.encode(lastEventAt, forKey: .lastEventAt)
            try container.encode(daysSince, forKey: .daysSince)
        }
    }

    let schemaVersion = 1
    let alertType: String
    let generatedAt: String
    let identityStoreId: String
    let thresholdDays: Int
    let warningDays: Int
    let part: Int
    let parts: Int
    let users: [User]

    /// The limit every SQS and SNS consumer accepts.
    static let maxBodyBytes = 262_144

    /// The flagged verdicts, sorted by user name, as messages of at most 256 KiB each, every one
    /// with a subject line that counts them all (and names its part when there are several).
    static func alerts(
        for verdicts: [Verdict], control: Control, generatedAt: Date, identityStoreId: String, thresholdDays: Int, warningDays: Int
    ) throws -> [Alert] {
        let bodies = try Self.bodies(
            for: verdicts, control: control, generatedAt: generatedAt, identityStoreId: identityStoreId, thresholdDays: thresholdDays,
            warningDays: warningDays)
        let subject = Self.subject(
            control: control, expired: verdicts.count { $0.status == .expired }, warning: verdicts.count { $0.status == .warning },
            thresholdDays: thresholdDays)
        return bodies.enumerated().map { index, body in
            Alert(body: body, subject: bodies.count == 1 ? subject : "\(subject) (part \(index + 1) of \(bodies.count))")
        }
    }

    /// "PCI DSS 8.2.6: 3 users inactive 90+ days, 2 close to it": within SNS's 100 characters.
    static func subject(control: Control, expired: Int, warning: Int, thresholdDays: Int) -> String {
        let users = { (count: Int) in count == 1 ? "1 user" : "\(count) users" }
        let what =
            switch control {
            case .passwordExpiry: "with a password \(thresholdDays)+ days old"
            case .inactivity: "inactive \(thresholdDays)+ days"
            }
        let flagged = [expired > 0 ? "\(users(expired)) \(what)" : nil, warning > 0 ? "\(users(warning)) close to it" : nil]
        return "\(control.requirement): " + flagged.compactMap { $0 }.joined(separator: ", ")
    }

    /// The flagged verdicts, sorted by user name, as message bodies of at most 256 KiB each.
    static func bodies(
        for verdicts: [Verdict], control: Control, generatedAt: Date, identityStoreId: String, thresholdDays: Int, warningDays: Int
    ) throws -> [String] {
        let users = verdicts.filter { $0.status != .compliant }
            .sorted { ($0.userName, $0.userId) < ($1.userName, $1.userId) }
            .map { User(userId: $0.userId, userName: $0.userName, status: $0.status, lastEventAt: $0.lastEventAt.map(ISO8601UTC.format), daysSince: $0.daysSince) }
        guard !users.isEmpty else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func message(_ users: [User], part: Int, parts: Int) -> AlertMessage {
            AlertMessage(
                alertType: control.rawValue, generatedAt: ISO8601UTC.format(generatedAt), identityStoreId: identityStoreId,
                thresholdDays: thresholdDays, warningDays: warningDays, part: part, parts: parts, users: users)
        }
        // Pack users greedily by their encoded size plus the envelope's (with room for the part numbers).
        let envelope = try encoder.encode(message([], part: 99_999, parts: 99_999)).count
        var groups: [[User]] = [[]]
        var size = envelope
        for user in users {
            let userSize = try encoder.encode(user).count + 1
            if !groups[groups.count - 1].isEmpty && size + userSize > maxBodyBytes {
                groups.append([])
                size = envelope
            }
            groups[groups.count - 1].append(user)
            size += userSize
        }
        return try groups.enumerated().map { index, group in
            String(decoding: try encoder.encode(message(group, part: index + 1, parts: groups.count)), as: UTF8.self)
        }
    }
}
