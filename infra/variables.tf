# ---------------------------------------------------------------------------------------------
# Identity Center
# ---------------------------------------------------------------------------------------------

variable "identity_store_id" {
  description = "The identity store of the IAM Identity Center instance: d- and ten hex digits (d-1234567890), or the UUID form some stores have. Becomes IDENTITY_STORE_ID of all five functions."
  type        = string

  validation {
    condition = (
      can(regex("^d-[0-9a-f]{10}$", var.identity_store_id)) ||
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.identity_store_id))
    )
    error_message = "identity_store_id must look like d-1234567890 (d- and ten lower-case hex digits) or be a lower-case UUID."
  }
}

variable "sso_instance_arn" {
  description = "ARN of the IAM Identity Center instance, arn:aws:sso:::instance/ssoins-<16 characters>. Becomes the report's SSO_INSTANCE_ARN."
  type        = string

  validation {
    condition     = can(regex("^arn:aws(-[a-z]+)*:sso:::instance/(sso)?ins-[a-zA-Z0-9.-]{16}$", var.sso_instance_arn))
    error_message = "sso_instance_arn must look like arn:aws:sso:::instance/ssoins-1234567890abcdef."
  }
}

# ---------------------------------------------------------------------------------------------
# Deployment
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "Region to deploy in: the IAM Identity Center instance's own region, where its CloudTrail events reach EventBridge. Null takes it from AWS_REGION or the profile."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every name this module creates (functions, roles, queues, table, rules, document)."
  type        = string
  default     = "idc-compliance"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,28}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3 to 30 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags)."
  type        = map(string)
  default     = {}
}

variable "artifacts_dir" {
  description = "Directory holding <product>.zip for the five functions and runtime-libs-layer.zip, as scripts/package writes them. A relative path is relative to this module's directory."
  type        = string
  default     = "../.build/lambda"
}

variable "architecture" {
  description = "Instruction set the zips were built for: x86_64 or arm64. scripts/package builds for the machine it runs on."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_mb" {
  description = "Memory of each function in MB (128 to 10240); Lambda gives CPU in proportion. Omitted entries keep their defaults."
  type = object({
    registry_writer         = optional(number, 128)
    registry_cleaner        = optional(number, 128)
    password_expiry_monitor = optional(number, 128)
    inactivity_monitor      = optional(number, 128)
    credential_report       = optional(number, 256)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for value in values(var.memory_mb) : value >= 128 && value <= 10240 && floor(value) == value])
    error_message = "Each memory_mb entry must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of each function in seconds (1 to 900). The report and the monitors page through CloudTrail at 2 requests a second, so they get the most."
  type = object({
    registry_writer         = optional(number, 300)
    registry_cleaner        = optional(number, 300)
    password_expiry_monitor = optional(number, 600)
    inactivity_monitor      = optional(number, 600)
    credential_report       = optional(number, 900)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for value in values(var.timeout_seconds) : value >= 1 && value <= 900 && floor(value) == value])
    error_message = "Each timeout_seconds entry must be a whole number of seconds from 1 to 900."
  }
}

variable "registry_reserved_concurrency" {
  description = "Reserved concurrency of registry-writer and of registry-cleaner each (the report always has 1, each monitor 3). A burst of CreateUser events past it waits in Lambda's asynchronous queue and is retried, not lost."
  type        = number
  default     = 5

  validation {
    condition     = var.registry_reserved_concurrency >= 1 && var.registry_reserved_concurrency <= 100 && floor(var.registry_reserved_concurrency) == var.registry_reserved_concurrency
    error_message = "registry_reserved_concurrency must be a whole number from 1 to 100."
  }
}

variable "log_level" {
  description = "Application log level of the functions (AWS_LAMBDA_LOG_LEVEL, set by Lambda from logging_config): TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups in days; PCI DSS 10.5.1 asks for at least 12 months. Must be a value CloudWatch Logs accepts."
  type        = number
  default     = 400

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values of a year or more: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period in days (7 to 30) before a KMS key this module created is deleted after terraform destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be from 7 to 30."
  }
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary attached to every role this module creates."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# The controls
# ---------------------------------------------------------------------------------------------

variable "password_max_age_days" {
  description = "PCI DSS 8.3.9: a password older than this many days is EXPIRED (PASSWORD_MAX_AGE_DAYS of password-expiry-monitor)."
  type        = number
  default     = 90

  validation {
    condition     = var.password_max_age_days >= 1 && var.password_max_age_days <= 365 && floor(var.password_max_age_days) == var.password_max_age_days
    error_message = "password_max_age_days must be a whole number from 1 to 365."
  }
}

variable "inactivity_max_days" {
  description = "PCI DSS 8.2.6: a user with no sign-in for this many days is EXPIRED (INACTIVITY_MAX_DAYS of inactivity-monitor)."
  type        = number
  default     = 90

  validation {
    condition     = var.inactivity_max_days >= 1 && var.inactivity_max_days <= 365 && floor(var.inactivity_max_days) == var.inactivity_max_days
    error_message = "inactivity_max_days must be a whole number from 1 to 365."
  }
}

variable "warning_days" {
  description = "Both monitors warn this many days before their limit (WARNING_DAYS); 0 turns warnings off. Must be less than both limits."
  type        = number
  default     = 14

  validation {
    condition     = var.warning_days >= 0 && var.warning_days <= 364 && floor(var.warning_days) == var.warning_days
    error_message = "warning_days must be a whole number from 0 to 364."
  }
}

variable "excluded_users" {
  description = "User names or ids the monitors never alert on, such as break-glass accounts (EXCLUDED_USERS, comma-joined)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for user in var.excluded_users : length(trimspace(user)) > 0 && !strcontains(user, ",")])
    error_message = "excluded_users entries must be non-blank and hold no comma."
  }
}

variable "activity_source" {
  description = "Where the monitors and the report read sign-ins and password changes: lookup-events (CloudTrail LookupEvents, 90 days) or lake (a CloudTrail Lake event data store)."
  type        = string
  default     = "lookup-events"

  validation {
    condition     = contains(["lookup-events", "lake"], var.activity_source)
    error_message = "activity_source must be lookup-events or lake."
  }
}

variable "cloudtrail_lake_event_data_store" {
  description = "The CloudTrail Lake event data store, id or ARN (CLOUDTRAIL_LAKE_EVENT_DATA_STORE); required when activity_source is lake, unused otherwise."
  type        = string
  default     = null

  validation {
    condition = var.cloudtrail_lake_event_data_store == null || (
      can(regex("^[A-Za-z0-9_-]{1,128}$", var.cloudtrail_lake_event_data_store)) ||
      can(regex("^arn:aws(-[a-z]+)*:cloudtrail:[a-z0-9-]+:[0-9]{12}:eventdatastore/[A-Za-z0-9_-]{1,128}$", var.cloudtrail_lake_event_data_store))
    )
    error_message = "cloudtrail_lake_event_data_store must be an event data store id (letters, digits, - and _) or its ARN."
  }
}

variable "reconcile_max_remove_percent" {
  description = "registry-cleaner's safety stop (RECONCILE_MAX_REMOVE_PERCENT): a reconcile that would remove more than this share of the registry removes nothing and fails."
  type        = number
  default     = 10

  validation {
    condition     = var.reconcile_max_remove_percent >= 0 && var.reconcile_max_remove_percent <= 100 && floor(var.reconcile_max_remove_percent) == var.reconcile_max_remove_percent
    error_message = "reconcile_max_remove_percent must be a whole number from 0 to 100."
  }
}

# ---------------------------------------------------------------------------------------------
# Schedules (EventBridge: rate(value unit) or cron(minutes hours day-of-month month day-of-week year),
# exactly one of day-of-month and day-of-week being ?, in UTC)
# ---------------------------------------------------------------------------------------------

variable "reconcile_schedule_expression" {
  description = "When registry-writer and registry-cleaner reconcile the registry with the identity store ({\"reconcile\": true}); before the monitors, so they judge a complete registry. Default daily 05:00 UTC."
  type        = string
  default     = "cron(0 5 * * ? *)"

  validation {
    condition = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.reconcile_schedule_expression)) || try(
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.reconcile_schedule_expression)[0])[2] == "?") !=
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.reconcile_schedule_expression)[0])[4] == "?"),
      false
    )
    error_message = "reconcile_schedule_expression must be rate(N unit) or a six-field cron() in which exactly one of day-of-month and day-of-week is ?, e.g. cron(0 5 * * ? *)."
  }
}

variable "monitor_schedule_expression" {
  description = "When password-expiry-monitor and inactivity-monitor run (daily per docs/contract.md). Default daily 06:00 UTC."
  type        = string
  default     = "cron(0 6 * * ? *)"

  validation {
    condition = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.monitor_schedule_expression)) || try(
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.monitor_schedule_expression)[0])[2] == "?") !=
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.monitor_schedule_expression)[0])[4] == "?"),
      false
    )
    error_message = "monitor_schedule_expression must be rate(N unit) or a six-field cron() in which exactly one of day-of-month and day-of-week is ?, e.g. cron(0 6 * * ? *)."
  }
}

variable "catch_up_schedule_expression" {
  description = "When both monitors read CloudTrail where the activity ledger lacks coverage ({\"catchUp\": true}), so that a first backfill finishes within hours and the daily judging run has little left to read. Default every 15 minutes: the judging run then reads at most 15 minutes and the half hour of overlap, even at the busiest hour of a 10,000-user organisation."
  type        = string
  default     = "rate(15 minutes)"

  validation {
    condition = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.catch_up_schedule_expression)) || try(
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.catch_up_schedule_expression)[0])[2] == "?") !=
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.catch_up_schedule_expression)[0])[4] == "?"),
      false
    )
    error_message = "catch_up_schedule_expression must be rate(N unit) or a six-field cron() in which exactly one of day-of-month and day-of-week is ?, e.g. rate(15 minutes)."
  }
}

variable "report_schedule_expression" {
  description = "When credential-report runs. Default weekly, Sunday 20:00 UTC. (The tool this replaces shipped cron(0 20 * ? 7 *), which EventBridge rejects: ? there is in the month field and both day fields are set.)"
  type        = string
  default     = "cron(0 20 ? * SUN *)"

  validation {
    condition = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.report_schedule_expression)) || try(
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.report_schedule_expression)[0])[2] == "?") !=
      (split(" ", regex("^cron\\(([0-9A-Za-z*?/,#-]+( [0-9A-Za-z*?/,#-]+){5})\\)$", var.report_schedule_expression)[0])[4] == "?"),
      false
    )
    error_message = "report_schedule_expression must be rate(N unit) or a six-field cron() in which exactly one of day-of-month and day-of-week is ?, e.g. cron(0 20 ? * SUN *)."
  }
}

# ---------------------------------------------------------------------------------------------
# Registry table
# ---------------------------------------------------------------------------------------------

variable "registry_table_name" {
  description = "Name of the DynamoDB registry table (REGISTRY_TABLE); null makes it <name_prefix>-registry."
  type        = string
  default     = null

  validation {
    condition     = var.registry_table_name == null || can(regex("^[A-Za-z0-9_.-]{3,255}$", var.registry_table_name))
    error_message = "registry_table_name must be 3 to 255 letters, digits, _, - or . characters."
  }
}

# ---------------------------------------------------------------------------------------------
# Alert queue
# ---------------------------------------------------------------------------------------------

variable "alert_consumer_principal_arns" {
  description = "IAM principals (role or user ARNs, or account roots) allowed to receive and delete alerts from the alert queue and to decrypt them. Only the monitors' roles may send."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.alert_consumer_principal_arns : can(regex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(root|role/.+|user/.+)$", arn))])
    error_message = "alert_consumer_principal_arns must be IAM role, user or account root ARNs."
  }
}

variable "create_alert_topic" {
  description = "Create a KMS-encrypted SNS topic that gets every alert the alert queue gets, with a subject line for people (ALERT_TOPIC_ARN); only the monitors may publish to it."
  type        = bool
  default     = false
}

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alert topic (each must confirm); needs create_alert_topic."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for address in var.alert_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alert_email_addresses must be e-mail addresses."
  }

  validation {
    condition     = var.create_alert_topic || length(var.alert_email_addresses) == 0
    error_message = "alert_email_addresses needs create_alert_topic = true."
  }
}

variable "securityhub_findings" {
  description = "Also keep one AWS Security Hub finding per control and flagged user (FINDINGS=securityhub). Security Hub must be enabled in the account and region."
  type        = bool
  default     = false
}

variable "alert_retention_days" {
  description = "How long an unread alert stays in the alert queue and in its dead-letter queue, in days (1 to 14, SQS's limit)."
  type        = number
  default     = 14

  validation {
    condition     = var.alert_retention_days >= 1 && var.alert_retention_days <= 14 && floor(var.alert_retention_days) == var.alert_retention_days
    error_message = "alert_retention_days must be a whole number from 1 to 14."
  }
}

variable "alert_max_receive_count" {
  description = "Receives of one alert before the alert queue moves it to its dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.alert_max_receive_count >= 1 && var.alert_max_receive_count <= 1000 && floor(var.alert_max_receive_count) == var.alert_max_receive_count
    error_message = "alert_max_receive_count must be a whole number from 1 to 1000."
  }
}

# ---------------------------------------------------------------------------------------------
# Credential report
# ---------------------------------------------------------------------------------------------

variable "report_bucket_name" {
  description = "Name of the S3 bucket for the credential reports (REPORT_BUCKET); null makes it <name_prefix>-reports-<account>-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.report_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.report_bucket_name))
    error_message = "report_bucket_name must be a valid S3 bucket name: 3 to 63 lower-case letters, digits, . and -."
  }
}

variable "report_prefix" {
  description = "Key prefix of the reports (REPORT_PREFIX), ending in /; the report's role may write under it only."
  type        = string
  default     = "credential_reports/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", var.report_prefix))
    error_message = "report_prefix must be one or more path segments of letters, digits, _, . and -, ending in / (e.g. credential_reports/)."
  }
}

variable "report_max_invocations" {
  description = "The most invocations one credential report may take (the state machine's rounds): at 15 minutes each, the default 96 allows 24 hours, far beyond a 200,000-user organisation's need. A run past it fails and raises the alarm."
  type        = number
  default     = 96

  validation {
    condition     = var.report_max_invocations >= 1 && var.report_max_invocations <= 1000 && floor(var.report_max_invocations) == var.report_max_invocations
    error_message = "report_max_invocations must be a whole number from 1 to 1000."
  }
}

variable "report_lookback_days" {
  description = "Days of sign-in history the report looks back for each user's last sign-in (REPORT_LOOKBACK_DAYS; at most 90 with lookup-events). Also the SSM document's default lookbackDays."
  type        = number
  default     = 90

  validation {
    condition     = var.report_lookback_days >= 1 && var.report_lookback_days <= 365 && floor(var.report_lookback_days) == var.report_lookback_days
    error_message = "report_lookback_days must be a whole number from 1 to 365."
  }
}

variable "report_concurrency" {
  description = "Identity Center calls the report keeps in flight at once (REPORT_CONCURRENCY, 1 to 64)."
  type        = number
  default     = 8

  validation {
    condition     = var.report_concurrency >= 1 && var.report_concurrency <= 64 && floor(var.report_concurrency) == var.report_concurrency
    error_message = "report_concurrency must be a whole number from 1 to 64."
  }
}

variable "report_requests_per_second" {
  description = "Ceiling of the report's Identity Center request rate (REPORT_REQUESTS_PER_SECOND, 1 to 1000); it slows down further when throttled."
  type        = number
  default     = 20

  validation {
    condition     = var.report_requests_per_second >= 1 && var.report_requests_per_second <= 1000 && floor(var.report_requests_per_second) == var.report_requests_per_second
    error_message = "report_requests_per_second must be a whole number from 1 to 1000."
  }
}

variable "report_retention_days" {
  description = "Days a report is kept before the bucket's lifecycle rule expires it (1 to 3650). PCI DSS evidence is normally kept at least a year."
  type        = number
  default     = 400

  validation {
    condition     = var.report_retention_days >= 1 && var.report_retention_days <= 3650 && floor(var.report_retention_days) == var.report_retention_days
    error_message = "report_retention_days must be a whole number from 1 to 3650."
  }
}

variable "report_noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted report version is kept (the bucket is versioned)."
  type        = number
  default     = 30

  validation {
    condition     = var.report_noncurrent_version_retention_days >= 1 && var.report_noncurrent_version_retention_days <= 3650 && floor(var.report_noncurrent_version_retention_days) == var.report_noncurrent_version_retention_days
    error_message = "report_noncurrent_version_retention_days must be a whole number from 1 to 3650."
  }
}

variable "report_object_lock_days" {
  description = "Default S3 Object Lock retention of each report in days; 0 leaves Object Lock off. Turning it on or off replaces the (empty) bucket: decide before the first apply."
  type        = number
  default     = 0

  validation {
    condition     = var.report_object_lock_days >= 0 && var.report_object_lock_days <= 3650 && floor(var.report_object_lock_days) == var.report_object_lock_days
    error_message = "report_object_lock_days must be a whole number from 0 to 3650."
  }
}

variable "report_object_lock_mode" {
  description = "Object Lock mode when report_object_lock_days > 0: GOVERNANCE (privileged users may shorten it) or COMPLIANCE (no one may, not even root)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.report_object_lock_mode)
    error_message = "report_object_lock_mode must be GOVERNANCE or COMPLIANCE."
  }
}

variable "report_access_log_bucket" {
  description = "Optional bucket that receives S3 server access logs of the report bucket (typically the organisation's log archive); null leaves access logging off."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------

variable "create_alarm_topic" {
  description = "Create a KMS-encrypted SNS topic as the action of every alarm (function errors, dead-letter queue depth)."
  type        = bool
  default     = true
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm); needs create_alarm_topic."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for address in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alarm_email_addresses must be e-mail addresses."
  }
}

variable "alarm_action_arns" {
  description = "Further alarm actions (SNS topic ARNs of an existing on-call path), added to the module's topic."
  type        = list(string)
  default     = []
  nullable    = false
}
