import AWSClient
import FoundationEssentials
import HTTPTransport

#if canImport(Glibc)
import Glibc
#endif

/// What `bootstrap --self-check` proves without a Lambda around it: libcurl loads (and from
/// where), and SigV4 over libcrypto signs the AWS test suite's reference request exactly.
/// The packaging check runs it with the library path limited to the layer and the system.
public struct SelfCheck: Encodable, Sendable {
    public let product: String
    public let libcurl: String
    public let libcurlPath: String
    public let signerConforms: Bool

    public var passed: Bool { signerConforms && libcurlPath != "unknown" }

    /// The `get-vanilla` case of the AWS SigV4 test suite.
    static let referenceSignature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

    public static func run(product: String) throws -> SelfCheck {
        let library = try CurlHTTPClient.library()
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", signingName: "service")
        var headers: HTTPHeaders = ["Host": "example.amazonaws.com"]
        let signature = signer.sign(
            method: "GET", path: "/", headers: &headers, payloadHash: SigV4Signer.payloadHash(Data()),
            date: Date(timeIntervalSince1970: 1_440_938_160))
        return SelfCheck(
            product: product, libcurl: library.version, libcurlPath: library.path,
            signerConforms: signature.signature == referenceSignature)
    }

    /// With `--self-check` on the command line: prints the result as JSON and exits, 0 when it passed.
    static func runIfAsked(product: String) {
        // argc first: building `arguments` on every cold start costs more than the check itself.
        guard CommandLine.argc > 1, CommandLine.arguments.dropFirst().contains("--self-check") else { return }
        do {
            let check = try run(product: product)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(check), as: UTF8.self))
            exit(check.passed ? 0 : 1)
        } catch {
            print(#"{"product":"\#(product)","error":"\#(error)"}"#)
            exit(1)
        }
    }
}
