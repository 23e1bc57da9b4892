import AWSClient
import FoundationEssentials
import HTTPTransport
import LambdaRuntime

/// A Lambda function that proves the toolchain end to end: the hand-written runtime loop over
/// libcurl, and the SigV4 signer on libcrypto, against the AWS test suite's `get-vanilla` case.
/// The local demo runs it under the Runtime API emulator until the real functions exist.
struct SelfCheck: LambdaHandler {
    struct Report: Encodable {
        let signature: String
        let expected: String
        let signerConforms: Bool
        let requestId: String
    }

    static let expectedSignature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

    func handle(_ event: EmptyEvent, context: LambdaContext) async throws -> Report {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", signingName: "service")
        var headers: HTTPHeaders = ["Host": "example.amazonaws.com"]
        let result = signer.sign(
            method: "GET", path: "/", headers: &headers, payloadHash: SigV4Signer.payloadHash(Data()),
            date: Date(timeIntervalSince1970: 1_440_938_160))
        let report = Report(
            signature: result.signature, expected: Self.expectedSignature,
            signerConforms: result.signature == Self.expectedSignature, requestId: context.requestId)
        context.logger.info("Self-check: SigV4 signer \(report.signerConforms ? "conforms" : "DOES NOT conform")")
        return report
    }
}

await LambdaRuntime.main { _ in SelfCheck() }
