provider "aws" {
  # Deploy in the region of the IAM Identity Center instance: its CloudTrail events reach
  # EventBridge there. Null takes the region from AWS_REGION or the profile.
  region = var.region

  default_tags {
    tags = merge({ Application = var.name_prefix, ManagedBy = "terraform" }, var.tags)
  }
}
