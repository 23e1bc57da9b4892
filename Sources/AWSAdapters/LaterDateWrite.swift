import AWSClient
import Compliance
import FoundationEssentials

extension DynamoDBAPI {
    /// Sets the date `attribute` (and `UpdatedAt`) of the item at `key` unless it holds a later
    /// one: the conditional write that lets a replayed or late event change nothing. With
    /// `onlyIfItemExists` an item that is not there is left uncreated. False when nothing was
    /// written.
    func setDateIfLater(
        table: String, key: DynamoDBItem, attribute: String, to date: Date, updatedAt: Date, onlyIfItemExists: Bool
    ) async throws -> Bool {
        let update = DynamoDBExpression(
            "SET #date = :date, UpdatedAt = :updatedAt", names: ["#date": attribute],
            values: [":date": .string(ISO8601UTC.format(date)), ":updatedAt": .string(ISO8601UTC.format(updatedAt))])
        let later = "attribute_not_exists(#date) OR #date < :date"
        let condition = DynamoDBExpression(
            onlyIfItemExists ? "attribute_exists(\(RegistryAttribute.userId)) AND (\(later))" : later, names: ["#date": attribute])
        do {
            _ = try await updateItem(table: table, key: key, update: update, condition: condition)
            return true
        } catch let error as AWSServiceError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }
}
