# Where the module is deployed, the products it deploys and the names they share.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The five executables of docs/contract.md; each is a function, a role, a log group and a dead-letter queue.
  products = ["registry-writer", "registry-cleaner", "password-expiry-monitor", "inactivity-monitor", "credential-report"]

  function_names = { for product in local.products : product => "${var.name_prefix}-${product}" }

  # scripts/package writes the zips to .build/lambda; a relative artifacts_dir is relative to this directory.
  artifacts_dir = startswith(var.artifacts_dir, "/") ? var.artifacts_dir : "${path.module}/${var.artifacts_dir}"

  identity_store_arn = "arn:${local.partition}:identitystore::${local.account_id}:identitystore/${var.identity_store_id}"
  # Permission set ARNs carry their instance's id: arn:aws:sso:::permissionSet/ssoins-…/ps-….
  sso_instance_id = element(split("/", var.sso_instance_arn), 1)

  lake = var.activity_source == "lake"
  # The policies name the event data store; with lookup-events their Lake statement is dropped (iam.tf).
  event_data_store_arn = (
    local.lake && startswith(coalesce(var.cloudtrail_lake_event_data_store, "-"), "arn:")
    ? var.cloudtrail_lake_event_data_store
    : "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:eventdatastore/${coalesce(var.cloudtrail_lake_event_data_store, "none")}"
  )

  registry_table_name = coalesce(var.registry_table_name, "${var.name_prefix}-registry")
  activity_table_name = "${var.name_prefix}-activity"
  report_bucket_name  = coalesce(var.report_bucket_name, "${var.name_prefix}-reports-${local.account_id}-${local.region}")
}
