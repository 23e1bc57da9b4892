import AWSClient
import Foundation
import HTTPTransport
import Logging
import Synchronization

/// The local AWS rig (scripts/rig) as the Swift tests see it: the one `RIG_STATE` names
/// (scripts/test starts one for the whole run), or one started here and stopped at exit.
/// Seeding goes through the rig's fixtures as rig-admin; the code under test signs as an IAM
/// user holding only the policy the test gives it.
final class Rig: Sendable {
    struct State: Decodable {
        struct Server: Decodable { let url: String }
        struct Keys: Decodable { let accessKeyId: String; let secretAccessKey: String }
        let region: String
        let accountId: String
        let moto: Server
        let cloudtrail: Server
        let admin: Keys
    }

    static let shared: Rig = {
        do {
            return try Rig()
        } catch {
            fatalError("The local AWS rig could not start: \(error). Run scripts/test, which sets it up.")
        }
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let statePath: String
    let state: State
    private let http: CurlHTTPClient

    private init() throws {
        if let path = ProcessInfo.processInfo.environment["RIG_STATE"], !path.isEmpty {
            statePath = path
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swift-rig-\(getpid())")
            let path = directory.appendingPathComponent("state.json").path
            _ = try Rig.runPython(["start", "--state", path])
            Rig.startedStatePath.withLock { $0 = path }
            atexit { Rig.stopStartedRig() }
            statePath = path
        }
        state = try JSONDecoder().decode(State.self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
        http = try CurlHTTPClient()
    }

    private static let startedStatePath = Mutex<String?>(nil)

    private static func stopStartedRig() {
        guard let path = startedStatePath.withLock({ $0 }) else { return }
        _ = try? runPython(["stop", "--state", path])
        // The servers' logs stay beside the state file: a rig started here leaves nothing behind.
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    /// Runs a fixture of scripts/rig/fixtures.py as rig-admin; its JSON answer.
    @discardableResult
    func call(_ fixture: String, _ arguments: [String: Any] = [:]) throws -> Any {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: arguments), as: UTF8.self)
        let output = try Rig.runPython(["call", fixture, "--state", statePath, "--args", json])
        return try JSONSerialization.jsonObject(with: output, options: [.fragmentsAllowed])
    }

    /// Any boto3 operation as rig-admin, e.g. `aws("sqs", "create_queue", ["QueueName": "q"])`.
    @discardableResult
    func aws(_ service: String, _ operation: String, _ parameters: [String: Any] = [:]) throws -> [String: Any] {
        try call("aws", ["service": service, "operation": operation, "params": parameters]) as? [String: Any] ?? [:]
    }

    /// `aws` once per parameter set, in one call to the rig.
    func awsMany(_ service: String, _ operation: String, _ parameters: [[String: Any]]) throws {
        try call("aws_many", ["service": service, "operation": operation, "params": parameters])
    }

    /// An IAM user holding only `policy`; the keys sign the code under test.
    func credentials(policy: [[String: Any]]) throws -> AWSCredentials {
        let document: [String: Any] = ["Version": "2012-10-17", "Statement": policy]
        let user = try call("create_function_user", ["name": "swift-\(UUID().uuidString.prefix(8))", "policy": document]) as! [String: Any]
        return AWSCredentials(accessKeyId: user["accessKeyId"] as! String, secretAccessKey: user["secretAccessKey"] as! String)
    }

    /// A client of the rig's endpoints signing with `credentials`.
    func client(_ credentials: AWSCredentials, retry: RetryStrategy = RetryStrategy(), pacing: [AWSService: RateLimiter] = [:]) throws -> AWSClient {
        try AWSClient(
            credentials: credentials, region: state.region,
            endpointResolver: EndpointResolver(region: state.region, environment: [
                "AWS_ENDPOINT_URL": state.moto.url, "AWS_ENDPOINT_URL_CLOUDTRAIL": state.cloudtrail.url,
            ]),
            http: http, retryStrategy: retry, logger: Logger(label: "integration"), pacing: pacing)
    }

    func arn(_ service: String, _ resource: String) -> String {
        "arn:aws:\(service):\(state.region):\(state.accountId):\(resource)"
    }

    private static func runPython(_ arguments: [String]) throws -> Data {
        let venvPython = repositoryRoot.appendingPathComponent(".venv/bin/python").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : "/usr/bin/env")
        process.arguments = (process.executableURL!.path == venvPython ? [] : ["python3"]) + ["-m", "rig"] + arguments
        // The rig is the package scripts/rig.
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = repositoryRoot.appendingPathComponent("scripts").path
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RigFailure(description: "rig \(arguments.prefix(2).joined(separator: " ")) failed: \(errorText)")
        }
        return data
    }
}

struct RigFailure: Error, CustomStringConvertible {
    let description: String
}

func allow(_ actions: [String], _ resources: [String] = ["*"]) -> [String: Any] {
    ["Effect": "Allow", "Action": actions, "Resource": resources]
}

func unique(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}
