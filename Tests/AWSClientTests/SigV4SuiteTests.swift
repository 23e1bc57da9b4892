import AWSClient
import Foundation
import HTTPTransport
import Testing

/// Every case of the AWS SigV4 test suite (aws-c-auth, header form), byte for byte.
struct SigV4SuiteTests {
    static let suiteDirectory = Bundle.module.resourceURL!.appendingPathComponent("sigv4-test-suite")

    static var caseNames: [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: suiteDirectory.path)) ?? []
        return entries.filter {
            FileManager.default.fileExists(atPath: suiteDirectory.appendingPathComponent("\($0)/context.json").path)
        }.sorted()
    }

    @Test func suiteIsPresent() {
        #expect(Self.caseNames.count >= 30)
    }

    @Test(arguments: caseNames)
    func reproducesTheCase(_ name: String) throws {
        let directory = Self.suiteDirectory.appendingPathComponent(name)
        func read(_ file: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        }
        let context = try JSONDecoder().decode(SuiteContext.self, from: Data(read("context.json").utf8))
        let request = try RawRequest(try read("request.txt"))

        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: context.credentials.access_key_id,
                secretAccessKey: context.credentials.secret_access_key,
                sessionToken: context.credentials.token),
            region: context.region, signingName: context.service)
        var headers = request.headers
        let signature = signer.sign(
            method: request.method, path: request.path, query: request.query, headers: &headers,
            payloadHash: sha256Hex(request.body), date: try Date(context.timestamp, strategy: .iso8601),
            normalizePath: context.normalize, addContentHashHeader: context.sign_body,
            signSessionToken: !(context.omit_session_token ?? false))

        #expect(signature.canonicalRequest == (try read("header-canonical-request.txt")))
        #expect(signature.stringToSign == (try read("header-string-to-sign.txt")))
        #expect(signature.signature == (try read("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        let expectedAuthorization = try read("header-signed-request.txt").components(separatedBy: "\n")
            .first { $0.hasPrefix("Authorization:") }?.dropFirst("Authorization:".count)
        #expect(headers["Authorization"] == expectedAuthorization.map(String.init))
    }
}

private struct SuiteContext: Decodable {
    struct Credentials: Decodable {
        let access_key_id: String
        let secret_access_key: String
        let token: String?
    }
    let credentials: Credentials
    let normalize: Bool
    let region: String
    let service: String
    let sign_body: Bool
    let timestamp: String
    let omit_session_token: Bool?
}

/// A request as the suite writes it: request line, headers (continuation lines fold into the
/// previous value), a blank line and the body.
private struct RawRequest {
    var method: String
    var path: String
    var query: [(name: String, value: String)] = []
    var headers = HTTPHeaders()
    var body = Data()

    init(_ text: String) throws {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst().components(separatedBy: " ")
        method = requestLine[0]
        let target = requestLine.dropFirst().dropLast().joined(separator: " ")
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        if parts.count == 2 {
            query = parts[1].split(separator: "&").map { pair in
                let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (text: Substring) in text.removingPercentEncoding ?? String(text) }
                return (decode(nameAndValue[0]), nameAndValue.count > 1 ? decode(nameAndValue[1]) : "")
            }
        }
        var fields: [(name: String, value: String)] = []
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t", !fields.isEmpty {
                fields[fields.count - 1].value += " " + line
            } else if let colon = line.firstIndex(of: ":") {
                fields.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        headers = HTTPHeaders(fields)
        if !lines.isEmpty {
            lines.removeFirst()
            body = Data(lines.joined(separator: "\n").utf8)
        }
    }
}

func sha256Hex(_ data: Data) -> String {
    SigV4Signer.payloadHash(data)
}
