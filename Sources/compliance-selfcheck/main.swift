import FunctionSupport
import LambdaRuntime

/// A Lambda function that answers every event with the self-check of the shared core (libcurl
/// loaded, SigV4 over libcrypto conformant) through the hand-written runtime loop.
struct SelfCheckHandler: LambdaHandler {
    func handle(_ event: EmptyEvent, context: LambdaContext) async throws -> SelfCheck {
        let check = try SelfCheck.run(product: "compliance-selfcheck")
        context.logger.info("Self-check \(check.passed ? "passed" : "FAILED"): \(check.libcurl) from \(check.libcurlPath)")
        return check
    }
}

await LambdaRuntime.main { _ in SelfCheckHandler() }
