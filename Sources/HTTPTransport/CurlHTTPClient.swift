import CCurl
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An `HTTPClient` over libcurl's multi interface.
///
/// One thread drives every transfer, so any number of requests can be in flight from async code
/// without blocking Swift's cooperative threads, and connections are kept and reused across
/// requests by the multi handle's connection cache.
public final class CurlHTTPClient: HTTPClient {
    public struct Configuration: Sendable {
        public var connectTimeout: Duration
        /// 0 means no limit. The Lambda runtime uses 1, so it keeps one connection to its API.
        public var maxConnectionsPerHost: Int
        /// How many idle connections are kept for reuse.
        public var connectionCacheSize: Int
        /// The CA certificates TLS peers are verified against; nil leaves libcurl's built-in path.
        public var caBundle: String?

        public init(
            connectTimeout: Duration = .seconds(10),
            maxConnectionsPerHost: Int = 0,
            connectionCacheSize: Int = 64,
            caBundle: String? = Configuration.systemCABundle
        ) {
            self.connectTimeout = connectTimeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.connectionCacheSize = connectionCacheSize
            self.caBundle = caBundle
        }

        /// The system's CA bundle: Amazon Linux's or Debian's. A libcurl built on one distribution
        /// looks for the other's path in vain, so the bundle is named explicitly.
        public static let systemCABundle: String? = [
            "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem",
        ].first { access($0, R_OK) == 0 }
    }

    /// The libcurl in use: its version line and the file it was loaded from.
    public static func library() throws -> (version: String, path: String) {
        try CurlLibrary.ensureLoaded()
        return (String(cString: ccurl_version()), ccurl_library_path().map { String(cString: $0) } ?? "unknown")
    }

    private let configuration: Configuration
    private let loop: CurlMultiLoop

    public init(configuration: Configuration = Configuration()) throws {
        try CurlLibrary.ensureLoaded()
        self.configuration = configuration
        self.loop = try CurlMultiLoop(configuration: configuration)
    }

    deinit {
        loop.stop()
    }

    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = try CurlTransfer(request, connectTimeout: configuration.connectTimeout, caBundle: configuration.caBundle)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.submit(transfer)
            }
        } onCancel: {
            transfer.isCancelled.store(true, ordering: .relaxed)
            loop.wake()
        }
    }
}

/// libcurl is loaded once per process, and its global state set up once, before any thread uses it.
enum CurlLibrary {
    private static let loadError: String? = {
        if let failure = ccurl_load() { return String(cString: failure) }
        guard ccurl_global_init() == CURLE_OK else { return "libcurl global initialisation failed" }
        return nil
    }()

    static func ensureLoaded() throws {
        if let loadError {
            throw HTTPTransportError(kind: .other, message: loadError)
        }
    }
}

/// The thread that owns the multi handle. Everything but `submit`, `wake` and `stop` runs on it.
final class CurlMultiLoop: @unchecked Sendable {
    private struct Inbox {
        var submitted: [CurlTransfer] = []
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    /// Loop-thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init(configuration: CurlHTTPClient.Configuration) throws {
        guard let multi = ccurl_multi_init() else {
            throw HTTPTransportError(kind: .other, message: "libcurl could not create a multi handle")
        }
        self.multi = multi
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.connectionCacheSize)

        var thread = pthread_t()
        let retainedSelf = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<CurlMultiLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, retainedSelf)
        guard created == 0 else {
            Unmanaged<CurlMultiLoop>.fromOpaque(retainedSelf).release()
            ccurl_multi_cleanup(multi)
            throw HTTPTransportError(kind: .other, message: "cannot start the HTTP thread (error \(created))")
        }
        pthread_detach(thread)
    }

    func submit(_ transfer: CurlTransfer) {
        let accepted = inbox.withLock { inbox in
            guard !inbox.stopping else { return false }
            inbox.submitted.append(transfer)
            return true
        }
        if accepted {
            wake()
        } else {
            finish(transfer, .failure(HTTPTransportError(kind: .other, message: "the HTTP client was shut down")))
        }
    }

    func wake() {
        ccurl_multi_wakeup(multi)
    }

    func stop() {
        inbox.withLock { $0.stopping = true }
        wake()
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let (submitted, stopping) = inbox.withLock { inbox in
                defer { inbox.submitted.removeAll() }
                return (inbox.submitted, inbox.stopping)
            }
            for transfer in submitted { start(transfer) }
            if stopping { break }
            failCancelledTransfers()
            ccurl_multi_perform(multi, &running)
            collectFinishedTransfers()
            ccurl_multi_poll(multi, 1000, nil)
        }
        let shutdown = HTTPTransportError(kind: .other, message: "the HTTP client was shut down")
        for transfer in active.values { remove(transfer, .failure(shutdown)) }
        ccurl_multi_cleanup(multi)
    }

    private func start(_ transfer: CurlTransfer) {
        let code = ccurl_multi_add_handle(multi, transfer.handle)
        guard code == CURLM_OK else {
            let message = "libcurl refused the transfer: \(String(cString: ccurl_multi_strerror(code)))"
            finish(transfer, .failure(HTTPTransportError(kind: .other, message: message)))
            return
        }
        active[transfer.handle] = transfer
    }

    private func failCancelledTransfers() {
        for transfer in active.values where transfer.isCancelled.load(ordering: .relaxed) {
            remove(transfer, .failure(CancellationError()))
        }
    }

    private func collectFinishedTransfers() {
        var queued: Int32 = 0
        while let message = ccurl_multi_info_read(multi, &queued) {
            guard ccurl_msg_is_done(message) != 0, let handle = message.pointee.easy_handle,
                let transfer = active[handle]
            else { continue }
            remove(transfer, transfer.outcome(ccurl_msg_result(message)))
        }
    }

    private func remove(_ transfer: CurlTransfer, _ outcome: Result<HTTPResponse, any Error>) {
        ccurl_multi_remove_handle(multi, transfer.handle)
        active[transfer.handle] = nil
        finish(transfer, outcome)
    }

    private func finish(_ transfer: CurlTransfer, _ outcome: Result<HTTPResponse, any Error>) {
        transfer.continuation?.resume(with: outcome)
        transfer.continuation = nil
    }
}
