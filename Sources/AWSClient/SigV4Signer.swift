import FoundationEssentials
import HTTPTransport
import Synchronization

/// AWS Signature Version 4, header form.
///
/// Conformant with the AWS SigV4 test suite (see the tests): canonical request, string to sign
/// and signature byte for byte.
public struct SigV4Signer: Sendable {
    /// The intermediate values, for tests and for debugging a `SignatureDoesNotMatch`.
    public struct Signature: Sendable {
        public let canonicalRequest: String
        public let stringToSign: String
        public let signature: String
    }

    public let credentials: AWSCredentials
    public let region: String
    public let signingName: String
    private let keyCache: SigningKeyCache

    public init(credentials: AWSCredentials, region: String, signingName: String) {
        self.init(credentials: credentials, region: region, signingName: signingName, keyCache: SigningKeyCache())
    }

    init(credentials: AWSCredentials, region: String, signingName: String, keyCache: SigningKeyCache) {
        self.credentials = credentials
        self.region = region
        self.signingName = signingName
        self.keyCache = keyCache
    }

    /// Adds `X-Amz-Date`, the session token, optionally `X-Amz-Content-SHA256`, and
    /// `Authorization` to `headers`, which must already hold `Host` and every other header to sign.
    ///
    /// - Parameters:
    ///   - path: the request path, not percent-encoded; it is encoded here.
    ///   - query: the query parameters, not percent-encoded.
    ///   - normalizePath: remove `.`/`..` segments and empty ones, as every service but S3 expects.
    ///   - addContentHashHeader: send the payload hash as `X-Amz-Content-SHA256` (S3 requires it).
    ///   - signSessionToken: false leaves the token out of the signature (it is then added after).
    @discardableResult
    public func sign(
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: inout HTTPHeaders,
        payloadHash: String,
        date: Date,
        normalizePath: Bool = true,
        addContentHashHeader: Bool = false,
        signSessionToken: Bool = true
    ) -> Signature {
        let timestamp = UTCTimestamp(date)
        headers.set("X-Amz-Date", timestamp.basic)
        if addContentHashHeader { headers.set("X-Amz-Content-SHA256", payloadHash) }
        if let token = credentials.sessionToken, signSessionToken { headers.set("X-Amz-Security-Token", token) }

        let canonicalHeaders = Self.canonicalHeaders(headers)
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let canonicalRequest = [
            method,
            Self.canonicalURI(path, normalize: normalizePath),
            Self.canonicalQuery(query),
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")

        let scope = "\(timestamp.date)/\(region)/\(signingName)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp.basic, scope, Crypto.sha256(Array(canonicalRequest.utf8)).hexEncoded,
        ].joined(separator: "\n")
        let key = keyCache.key(for: credentials, date: timestamp.date, region: region, service: signingName)
        let signature = Crypto.hmacSHA256(key: key, Array(stringToSign.utf8)).hexEncoded

        headers.set(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)")
        if let token = credentials.sessionToken, !signSessionToken { headers.set("X-Amz-Security-Token", token) }
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature)
    }

    /// The hex SHA-256 of a body, as the canonical request and `X-Amz-Content-SHA256` carry it.
    public static func payloadHash(_ body: Data) -> String {
        Crypto.sha256(body).hexEncoded
    }

    /// Lower-case names, sorted; values trimmed with inner runs of white space folded to one
    /// space; repeated names joined with commas in the order given.
    static func canonicalHeaders(_ headers: HTTPHeaders) -> [(name: String, value: String)] {
        var merged: [String: String] = [:]
        for field in headers {
            let name = field.name.lowercased()
            let value = field.value.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            merged[name] = merged[name].map { "\($0),\(value)" } ?? value
        }
        return merged.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    static func canonicalURI(_ path: String, normalize: Bool) -> String {
        let path = path.isEmpty ? "/" : path
        guard normalize else { return uriEncode(path, encodeSlash: false) }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        let lastSegment = path.split(separator: "/", omittingEmptySubsequences: true).last
        let keepsTrailingSlash = path.hasSuffix("/") && !segments.isEmpty && lastSegment != "." && lastSegment != ".."
        let normalized = "/" + segments.joined(separator: "/") + (keepsTrailingSlash ? "/" : "")
        return uriEncode(normalized, encodeSlash: false)
    }

    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (uriEncode($0.name), uriEncode($0.value)) }
        let sorted = encoded.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters, byte by byte, in upper-case hex.
public func uriEncode(_ text: String, encodeSlash: Bool = true) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var encoded: [UInt8] = []
    encoded.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
        if unreservedBytes.contains(byte) || (byte == UInt8(ascii: "/") && !encodeSlash) {
            encoded.append(byte)
        } else {
            encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
        }
    }
    return String(decoding: encoded, as: UTF8.self)
}

private let unreservedBytes = Set(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)

/// The derived signing key changes once a day per region and service: derive it once.
final class SigningKeyCache: Sendable {
    private let keys = Mutex<[String: [UInt8]]>([:])

    func key(for credentials: AWSCredentials, date: String, region: String, service: String) -> [UInt8] {
        let cacheKey = "\(credentials.accessKeyId)/\(date)/\(region)/\(service)"
        if let key = keys.withLock({ $0[cacheKey] }) { return key }
        let dateKey = Crypto.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), Array(date.utf8))
        let regionKey = Crypto.hmacSHA256(key: dateKey, Array(region.utf8))
        let serviceKey = Crypto.hmacSHA256(key: regionKey, Array(service.utf8))
        let signingKey = Crypto.hmacSHA256(key: serviceKey, Array("aws4_request".utf8))
        keys.withLock { keys in
            if keys.count > 32 { keys.removeAll() }
            keys[cacheKey] = signingKey
        }
        return signingKey
    }
}

/// A UTC instant in SigV4's two forms, `20150830T123600Z` and `20150830`.
struct UTCTimestamp {
    let basic: String
    let date: String

    init(_ instant: Date) {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: secondOfDay < 0 ? days - 1 : days)
        let second = (secondOfDay + 86_400) % 86_400
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        date = pad(year, 4) + pad(month, 2) + pad(day, 2)
        basic = date + "T" + pad(second / 3600, 2) + pad(second / 60 % 60, 2) + pad(second % 60, 2) + "Z"
    }
}

/// Year, month and day of a count of days since 1970-01-01 (proleptic Gregorian), after
/// Howard Hinnant's `civil_from_days`.
func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let shifted = daysSinceEpoch + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}
