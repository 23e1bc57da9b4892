# terraform apply -var-file=examples/example.tfvars  (from infra/, after scripts/package)

region            = "eu-west-1"
identity_store_id = "d-1234567890"
sso_instance_arn  = "arn:aws:sso:::instance/ssoins-1234567890abcdef"

name_prefix   = "idc-compliance"
architecture  = "x86_64"
artifacts_dir = "../.build/lambda"

# PCI DSS 8.3.9 and 8.2.6 limits, and the warning before them.
password_max_age_days = 90
inactivity_max_days   = 90
warning_days          = 14
excluded_users        = ["breakglass-admin"]

# lookup-events (CloudTrail event history, 90 days) or lake with an event data store.
activity_source = "lookup-events"
# activity_source                  = "lake"
# cloudtrail_lake_event_data_store = "arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/0123abcd-0123-abcd-0123-0123456789ab"

reconcile_schedule_expression = "cron(0 5 * * ? *)"
monitor_schedule_expression   = "cron(0 6 * * ? *)"
report_schedule_expression    = "cron(0 20 ? * SUN *)"

report_prefix         = "credential_reports/"
report_lookback_days  = 90
report_retention_days = 400
# report_object_lock_days = 400   # decide before the first apply
# report_access_log_bucket = "org-log-archive-s3-access-111122223333"

memory_mb = {
  credential_report = 512
}

alert_consumer_principal_arns = ["arn:aws:iam::111122223333:role/compliance-ticketing"]
alarm_email_addresses         = ["security-operations@example.com"]

tags = {
  CostCenter = "security"
  Compliance = "pci-dss"
}
