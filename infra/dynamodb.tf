# The registry of DESIGN.md: partition key UserId (S), no sort key; items written by the
# registry functions and the monitors (each through its own policy in policies/).
resource "aws_dynamodb_table" "registry" {
  name         = local.registry_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "UserId"

  attribute {
    name = "UserId"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.registry.arn
  }

  # The registry keeps sign-in and password history past CloudTrail's 90 days: never lose it to a destroy.
  deletion_protection_enabled = true
}
