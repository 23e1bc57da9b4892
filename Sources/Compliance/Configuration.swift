
/// A function's setting that is missing or malformed: the init phase fails with this message.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads and checks the environment variables of docs/contract.md.
struct EnvironmentReader {
    let environment: [String: String]

    func required(_ name: String) throws(ConfigurationError) -> String {
        guard let value = environment[name]?.trimmingWhitespace, !value.isEmpty else {
            throw ConfigurationError("\(name) is not set")
        }
        return value
    }

    func optional(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingWhitespace, !value.isEmpty else { return nil }
        return value
    }

    func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = optional(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// `d-` and ten hex digits, or the UUID form some stores have.
    func identityStoreId() throws(ConfigurationError) -> String {
        let value = try required("IDENTITY_STORE_ID")
        guard IdentityStoreIdPattern.matches(value) else {
            throw ConfigurationError("IDENTITY_STORE_ID must look like d-1234567890, not '\(value)'")
        }
        return value
    }

    func httpURL(_ name: String) throws(ConfigurationError) -> String {
        let value = try required(name)
        guard value.hasPrefix("https://") || value.hasPrefix("http://"), !value.contains(" ") else {
            throw ConfigurationError("\(name) must be an http(s) URL, not '\(value)'")
        }
        return value
    }

    /// An SNS topic's ARN, `arn:<partition>:sns:<region>:<account>:<name>`, when set.
    func snsTopicArn(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = optional(name) else { return nil }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "sns", !parts[3].isEmpty,
            parts[4].count == 12, parts[4].allSatisfy(\.isNumber), (1...256).contains(parts[5].count),
            parts[5].allSatisfy(nameCharacters.contains)
        else {
            throw ConfigurationError("\(name) must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:alerts, not '\(value)'")
        }
        guard !parts[5].hasSuffix(".fifo") else {
            throw ConfigurationError("\(name) names a FIFO topic, which takes only messages with a group id: use a standard topic, not '\(value)'")
        }
        return value
    }

    /// A comma-separated list, blanks dropped.
    func list(_ name: String) -> [String] {
        (optional(name) ?? "").split(separator: ",").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
    }
}

enum IdentityStoreIdPattern {
    static func matches(_ value: String) -> Bool {
        let hex = Set("0123456789abcdef")
        if value.hasPrefix("d-") {
            let digits = value.dropFirst(2)
            return digits.count == 10 && digits.allSatisfy { hex.contains($0) }
        }
        let groups = value.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy { hex.contains($0) } }
    }
}
