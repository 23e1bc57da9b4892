/// Walks a paginated AWS operation to its end: one helper for every `NextToken`-style list
/// operation (and DynamoDB's `LastEvaluatedKey`), rather than a loop per call.
public struct Paginator<Item: Sendable, Token: Sendable & Equatable>: AsyncSequence, Sendable {
    public typealias Element = [Item]
    public typealias Fetch = @Sendable (_ token: Token?) async throws -> (items: [Item], next: Token?)

    private let operation: String
    private let fetch: Fetch

    /// - Parameter operation: named in the error if the service hands back the token it was given.
    public init(_ operation: String, fetch: @escaping Fetch) {
        self.operation = operation
        self.fetch = fetch
    }

    /// One page: the one `token` names (the first for nil), and the token of the next (nil after
    /// the last). For a caller that keeps its place between runs.
    public func page(after token: Token?) async throws -> (items: [Item], next: Token?) {
        try await Self.fetch(token, with: fetch, operation: operation)
    }

    /// Every item of every page.
    public func all() async throws -> [Item] {
        var items: [Item] = []
        for try await page in self { items += page }
        return items
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(operation: operation, fetch: fetch)
    }

    /// Yields one page at a time, so a caller can stream rather than hold every page.
    public struct Iterator: AsyncIteratorProtocol {
        let operation: String
        let fetch: Fetch
        var token: Token?
        var finished = false

        public mutating func next() async throws -> [Item]? {
            guard !finished else { return nil }
            let page = try await Paginator.fetch(token, with: fetch, operation: operation)
            token = page.next
            finished = page.next == nil
            return page.items
        }
    }
}

extension Paginator {
    fileprivate static func fetch(_ token: Token?, with fetch: Fetch, operation: String) async throws -> (items: [Item], next: Token?) {
        let page = try await fetch(token)
        if let next = page.next, next == token {
            throw PaginationError(operation: operation)
        }
        return page
    }
}

/// The service answered a page with the token that asked for it: following it would never end.
public struct PaginationError: Error, CustomStringConvertible {
    public let operation: String
    public var description: String { "\(operation) returned the same pagination token twice; stopping" }
}
