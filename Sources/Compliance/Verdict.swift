import FoundationEssentials

public enum ComplianceStatus: String, Sendable, Encodable {
    case expired = "EXPIRED"
    case warning = "WARNING"
    case compliant = "COMPLIANT"

    /// `EXPIRED` at or past the threshold, or with no evidence at all; `WARNING` within the
    /// warning days before it.
    init(daysSince: Int?, thresholdDays: Int, warningDays: Int) {
        guard let daysSince else {
            self = .expired
            return
        }
        if daysSince >= thresholdDays {
            self = .expired
        } else if daysSince >= thresholdDays - warningDays {
            self = .warning
        } else {
            self = .compliant
        }
    }
}

/// One user's verdict under one control.
public struct Verdict: Sendable, Equatable {
    public let userId: String
    public let userName: String
    public let status: ComplianceStatus
    /// The date the verdict rests on; nil when nothing at all is known.
    public let lastEventAt: Date?
    public let daysSince: Int?
}
