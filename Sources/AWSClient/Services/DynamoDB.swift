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
}

public struct DynamoDBClient: DynamoDBAPI {
    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
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
