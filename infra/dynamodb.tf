# The registry of docs/contract.md: partition key UserId (S), no sort key; items written by the
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

# The activity ledger: how far the monitors have read CloudTrail (items whose UserId starts with
# #), and evidence read for users the registry did not hold yet. Partition key UserId, sort key Scope.
resource "aws_dynamodb_table" "activity" {
  name         = local.activity_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "UserId"
  range_key    = "Scope"

  attribute {
    name = "UserId"
    type = "S"
  }

  attribute {
    name = "Scope"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.registry.arn
  }

  # Evidence of users not yet registered lives only here: a destroy must not take it.
  deletion_protection_enabled = true
}
