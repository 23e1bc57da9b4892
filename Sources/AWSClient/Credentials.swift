import FoundationEssentials

/// An access key pair, with the session token of temporary credentials (Lambda's always have one).
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Never prints the secret or the token, so a logged value leaks nothing.
    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }

    /// `text` with the secret and the session token blanked out: some services quote the request's
    /// canonical form, token header and all, in their signature errors.
    func redacting(_ text: String) -> String {
        [secretAccessKey, sessionToken].compactMap { $0.nonEmpty }.reduce(text) { $0.replacing($1, with: "<redacted>") }
    }

    /// As the AWS SDKs look them up: the environment's `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, else the profile `AWS_PROFILE` (or
    /// `default`) of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE` or
    /// `~/.aws/credentials`), for running a function locally against a real account.
    public static func resolve(environment: [String: String]) throws(AWSConfigurationError) -> AWSCredentials {
        let keyId = environment["AWS_ACCESS_KEY_ID"].nonEmpty
        let secret = environment["AWS_SECRET_ACCESS_KEY"].nonEmpty
        switch (keyId, secret) {
        case (let keyId?, let secret?):
            return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].nonEmpty)
        case (.some, nil):
            throw AWSConfigurationError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, .some):
            throw AWSConfigurationError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (nil, nil):
            return try fromSharedCredentialsFile(environment: environment)
        }
    }

    private static func fromSharedCredentialsFile(environment: [String: String]) throws(AWSConfigurationError) -> AWSCredentials {
        let profile = environment["AWS_PROFILE"].nonEmpty ?? "default"
        let path = environment["AWS_SHARED_CREDENTIALS_FILE"].nonEmpty
            ?? environment["HOME"].nonEmpty.map { "\($0)/.aws/credentials" }
        guard let path, let contents = FileManager.default.contents(atPath: path) else {
            throw AWSConfigurationError(
                "No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials")
        }
        let settings = iniSection(profile, of: String(decoding: contents, as: UTF8.self))
        guard let settings else {
            throw AWSConfigurationError("No AWS credentials: profile '\(profile)' is not in \(path)")
        }
        guard let keyId = settings["aws_access_key_id"].nonEmpty, let secret = settings["aws_secret_access_key"].nonEmpty else {
            throw AWSConfigurationError(
                "Profile '\(profile)' in \(path) lacks aws_access_key_id or aws_secret_access_key")
        }
        return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: settings["aws_session_token"].nonEmpty)
    }

    /// The `key = value` lines of one `[section]` of an INI file; nil when it has no such section.
    static func iniSection(_ name: String, of text: String) -> [String: String]? {
        var current: String?
        var found: [String: String]?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingWhitespace
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingWhitespace
                if current == name, found == nil { found = [:] }
                continue
            }
            guard current == name, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmingWhitespace.lowercased()
            found?[key] = String(line[line.index(after: equals)...]).trimmingWhitespace
        }
        return found
    }
}

/// A setting that is missing or malformed: the function cannot start.
public struct AWSConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Optional<String> {
    /// The string, unless it is missing or empty (an unset variable, an empty Lake cell).
    public var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}

extension StringProtocol {
    public var trimmingWhitespace: String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
