# Sizes of the dev environment. Replace the account ID with your dev account.
# Every role carries the boundary terraform/bootstrap creates for this environment.
environment                      = "dev"
permissions_boundary_policy_name = "dev-role-boundary"

allowed_account_ids = ["111111111111"]

log_level                = "DEBUG"
log_retention_days       = 14
reserved_concurrency     = 5
error_alarm_threshold    = 5
throttle_alarm_threshold = 5

# SES limits the sending rate: at most this many order_confirmation invocations at once.
queue_maximum_concurrency_overrides = {
  order_confirmation = 2
}

api_throttling_burst_limit          = 20
api_throttling_rate_limit           = 10
delivery_status_success_sample_rate = 100

# Throwaway: tables and buckets may be destroyed with their data.
deletion_protection      = false
force_destroy_buckets    = true
key_deletion_window_days = 7

# Alarms: dev may run without subscribers (every plan then warns). Add yours to
# hear them, e.g. [{ protocol = "email", endpoint = "you@your-domain.example" }].
alarm_subscriptions         = []
require_alarm_subscriptions = false

# REPLACE with an address of a domain you control: SES sends only from a
# verified identity (docs/terraform.md, "What you set per environment").
email_sender_addresses = {
  orders = "orders-dev@example.com"
}

# Tracing: xray, otel or off (docs/terraform.md, "Tracing"). otel adds the ADOT Python
# layer of each architecture in this region, for example
#   otel_layer_arns = { arm64 = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-arm64-ver-<version>:<n>" }
tracing_backend = "xray"

# REPLACE with your identity provider: routes declared "auth": "jwt" accept only
# tokens of this issuer for one of these audiences (docs/terraform.md, "What you
# set per environment"); tokens of the placeholder are never valid.
jwt_issuer   = "https://issuer.dev.example.com"
jwt_audience = ["orders-web-dev"]
