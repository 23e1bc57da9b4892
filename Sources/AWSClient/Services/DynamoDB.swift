import FoundationEssentials

/// A DynamoDB attribute value, typed as the wire format is.
public indirect enum AttributeValue: Sendable, Hashable, Codable {
    case string(String)
    /// Numbers travel as strings so no precision is lost.
    case number(String)
    case bool(Bool)
    case null
    case list([AttributeValue])
    case map([String: AttributeValue])
    case stringSet([String])

    private enum CodingKeys: String, CodingKey {
        case string = "S", number = "N", bool = "BOOL", null = "NULL", list = "L", map = "M", stringSet = "SS"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an attribute value with no type"))
        }
        switch key {
        case .string: self = .string(try container.decode(String.self, forKey: key))
        case .number: self = .number(try container.decode(String.self, forKey: key))
        case .bool: self = .bool(try container.decode(Bool.self, forKey: key))
        case .null: self = .null
        case .list: self = .list(try container.decode([AttributeValue].self, forKey: key))
        case .map: self = .map(try container.decode([String: AttributeValue].self, forKey: key))
        case .stringSet: self = .stringSet(try container.decode([String].self, forKey: key))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .string(let value): try container.encode(value, forKey: .string)
        case .number(let value): try container.encode(value, forKey: .number)
        case .bool(let value): try container.encode(value, forKey: .bool)
        case .null: try container.encode(true, forKey: .null)
        case .list(let value): try container.encode(value, forKey: .list)
        case .map(let value): try container.encode(value, forKey: .map)
        case .stringSet(let value): try container.encode(value, forKey: .stringSet)
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

public typealias DynamoDBItem = [String: AttributeValue]

/// A condition or update expression with its placeholders.
public struct DynamoDBExpression: Sendable {
    public var expression: String
    public var names: [String: String]
    public var values: DynamoDBItem

    public init(_ expression: String, names: [String: String] = [:], values: DynamoDBItem = [:]) {
        self.expression = expression
        self.names = names
        self.values = values
    }
}

public enum DynamoDBWriteRequest: Sendable, Hashable, Codable {
    case put(DynamoDBItem)
    case delete(key: DynamoDBItem)

    private enum CodingKeys: String, CodingKey { case put = "PutRequest", delete = "DeleteRequest" }
    private enum BodyKeys: String, CodingKey { case item = "Item", key = "Key" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.put) {
            self = .put(try container.nestedContainer(keyedBy: BodyKeys.self, forKey: .put).decode(DynamoDBItem.self, forKey: .item))
        } else {
            self = .delete(key: try container.nestedContainer(keyedBy: BodyKeys.self, forKey: .delete).decode(DynamoDBItem.self, forKey: .key))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .put(let item):
            var body = container.nestedContainer(keyedBy: BodyKeys.self, forKey: .put)
            try body.encode(item, forKey: .item)
        case .delete(let key):
            var body = container.nestedContainer(keyedBy: BodyKeys.self, forKey: .delete)
            try body.encode(key, forKey: .key)
        }
    }
}

public protocol DynamoDBAPI: Sendable {
    func putItem(table: String, item: DynamoDBItem, condition: DynamoDBExpression?) async throws
    /// Returns the item's attributes after the update.
    @discardableResult
    func updateItem(table: String, key: DynamoDBItem, update: DynamoDBExpression, condition: DynamoDBExpression?) async throws -> DynamoDBItem
    /// Returns the deleted item, nil when there was none.
    @discardableResult
    func deleteItem(table: String, key: DynamoDBItem, condition: DynamoDBExpression?) async throws -> DynamoDBItem?
    func getItem(table: String, key: DynamoDBItem, consistentRead: Bool) async throws -> DynamoDBItem?
    func scan(table: String, consistentRead: Bool) -> Paginator<DynamoDBItem, DynamoDBItem>
    func batchWrite(table: String, requests: [DynamoDBWriteRequest]) async throws
}

public struct DynamoDBClient: DynamoDBAPI {
    let client: AWSClient
    /// How often BatchWriteItem's unprocessed items are sent again before giving up.
    let maxUnprocessedRounds: Int

    public init(client: AWSClient, maxUnprocessedRounds: Int = 8) {
        self.client = client
        self.maxUnprocessedRounds = maxUnprocessedRounds
    }

    public func putItem(table: String, item: DynamoDBItem, condition: DynamoDBExpression? = nil) async throws {
        let input = ItemInput(tableName: table, item: item, key: nil, condition: condition, update: nil, returnValues: nil)
        _ = try await client.json(.dynamoDB, "PutItem", input, as: AWSEmptyOutput.self)
    }

    @discardableResult
    public func updateItem(
        table: String, key: DynamoDBItem, update: DynamoDBExpression, condition: DynamoDBExpression? = nil
    ) async throws -> DynamoDBItem {
        let input = ItemInput(tableName: table, item: nil, key: key, condition: condition, update: update, returnValues: "ALL_NEW")
        return try await client.json(.dynamoDB, "UpdateItem", input, as: AttributesOutput.self).Attributes ?? [:]
    }

    @discardableResult
    public func deleteItem(table: String, key: DynamoDBItem, condition: DynamoDBExpression? = nil) async throws -> DynamoDBItem? {
        let input = ItemInput(tableName: table, item: nil, key: key, condition: condition, update: nil, returnValues: "ALL_OLD")
        return try await client.json(.dynamoDB, "DeleteItem", input, as: AttributesOutput.self).Attributes
    }

    public func getItem(table: String, key: DynamoDBItem, consistentRead: Bool = true) async throws -> DynamoDBItem? {
        struct Input: Encodable {
            let TableName: String
            let Key: DynamoDBItem
            let ConsistentRead: Bool
        }
        struct Output: Decodable { let Item: DynamoDBItem? }
        return try await client.json(.dynamoDB, "GetItem", Input(TableName: table, Key: key, ConsistentRead: consistentRead), as: Output.self).Item
    }

    public func scan(table: String, consistentRead: Bool = true) -> Paginator<DynamoDBItem, DynamoDBItem> {
        struct Input: Encodable {
            let TableName: String
            let ConsistentRead: Bool
            let ExclusiveStartKey: DynamoDBItem?
        }
        struct Output: Decodable {
            let Items: [DynamoDBItem]?
            let LastEvaluatedKey: DynamoDBItem?
        }
        return Paginator("DynamoDB Scan") { [client] startKey in
            let page = try await client.json(
                .dynamoDB, "Scan", Input(TableName: table, ConsistentRead: consistentRead, ExclusiveStartKey: startKey), as: Output.self)
            return (page.Items ?? [], page.LastEvaluatedKey)
        }
    }

    /// Writes in batches of 25 (the service's limit), sending unprocessed items again with
    /// backoff until all are written.
    public func batchWrite(table: String, requests: [DynamoDBWriteRequest]) async throws {
        struct Input: Encodable { let RequestItems: [String: [DynamoDBWriteRequest]] }
        struct Output: Decodable { let UnprocessedItems: [String: [DynamoDBWriteRequest]]? }
        for start in stride(from: 0, to: requests.count, by: 25) {
            var pending = Array(requests[start..<min(start + 25, requests.count)])
            var round = 0
            while !pending.isEmpty {
                if round > 0 {
                    guard round <= maxUnprocessedRounds else {
                        throw UnprocessedItemsError(table: table, remaining: pending.count)
                    }
                    try await client.retryStrategy.sleeper.sleep(for: client.retryStrategy.backoff(beforeRetry: round - 1))
                }
                let output = try await client.json(.dynamoDB, "BatchWriteItem", Input(RequestItems: [table: pending]), as: Output.self)
                pending = output.UnprocessedItems?[table] ?? []
                round += 1
            }
        }
    }

    private struct ItemInput: Encodable {
        let tableName: String
        let item: DynamoDBItem?
        let key: DynamoDBItem?
        let condition: DynamoDBExpression?
        let update: DynamoDBExpression?
        let returnValues: String?

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName", item = "Item", key = "Key", conditionExpression = "ConditionExpression"
            case updateExpression = "UpdateExpression", names = "ExpressionAttributeNames"
            case values = "ExpressionAttributeValues", returnValues = "ReturnValues"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tableName, forKey: .tableName)
            try container.encodeIfPresent(item, forKey: .item)
            try container.encodeIfPresent(key, forKey: .key)
            try container.encodeIfPresent(condition?.expression, forKey: .conditionExpression)
            try container.encodeIfPresent(update?.expression, forKey: .updateExpression)
            try container.encodeIfPresent(returnValues, forKey: .returnValues)
            // Both expressions share one set of placeholders, as the API wants.
            let names = (condition?.names ?? [:]).merging(update?.names ?? [:]) { first, _ in first }
            let values = (condition?.values ?? [:]).merging(update?.values ?? [:]) { first, _ in first }
            if !names.isEmpty { try container.encode(names, forKey: .names) }
            if !values.isEmpty { try container.encode(values, forKey: .values) }
        }
    }

    private struct AttributesOutput: Decodable {
        let Attributes: DynamoDBItem?
    }
}

/// BatchWriteItem kept leaving items unprocessed: the table is throttled beyond retrying.
public struct UnprocessedItemsError: Error, CustomStringConvertible {
    public let table: String
    public let remaining: Int
    public var description: String { "BatchWriteItem on \(table) left \(remaining) items unprocessed after retries" }
}
