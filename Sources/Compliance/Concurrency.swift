/// Runs `body` on every element with at most `limit` running at once; the first error cancels
/// the rest and is thrown.
func forEachConcurrently<Element: Sendable>(
    _ elements: [Element], limit: Int, _ body: @escaping @Sendable (Element) async throws -> Void
) async throws {
    _ = try await mapConcurrently(elements, limit: limit, body)
}

/// `transform` applied to every element with at most `limit` running at once, results in order.
func mapConcurrently<Input: Sendable, Output: Sendable>(
    _ inputs: [Input], limit: Int, _ transform: @escaping @Sendable (Input) async throws -> Output
) async throws -> [Output] {
    try await withThrowingTaskGroup(of: (Int, Output).self) { group in
        var results = [Output?](repeating: nil, count: inputs.count)
        var next = 0
        func startNext() {
            guard next < inputs.count else { return }
            let index = next
            let input = inputs[index]
            group.addTask { (index, try await transform(input)) }
            next += 1
        }
        for _ in 0..<max(1, limit) { startNext() }
        while let (index, output) = try await group.next() {
            results[index] = output
            startNext()
        }
        return results.map { $0! }
    }
}
