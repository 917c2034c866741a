# Sizes of the staging environment. Replace the account ID with your staging account.
# Every role carries the boundary terraform/bootstrap creates for this environment.
environment                      = "staging"
permissions_boundary_policy_name = "staging-role-boundary"

allowed_account_ids = ["222222222222"]

log_level                = "INFO"
log_retention_days       = 30
reserved_concurrency     = 10
error_alarm_threshold    = 3
throttle_alarm_threshold = 3

# SES limits the sending rate: at most this many order_confirmation invocations at once.
queue_maximum_concurrency_overrides = {
  order_confirmation = 2
}

api_throttling_burst_limit          = 50
api_throttling_rate_limit           = 25
delivery_status_success_sample_rate = 50

deletion_protection      = true
force_destroy_buckets    = false
key_deletion_window_days = 14

# REQUIRED before the first plan, which fails while this list is empty: who
# hears the alarms of staging, e.g.
#   { protocol = "email", endpoint = "oncall@your-domain.example" }
#   { protocol = "https", endpoint = "https://global.sns-api.chatbot.amazonaws.com" } (AWS Chatbot)
alarm_subscriptions = []

# REQUIRED before the first plan, which fails while a sender of
# shared/resources.json has no address here: an address of a domain you
# control, verified in SES (docs/terraform.md, "What you set per environment"), e.g.
#   orders = "orders@staging.your-domain.example"
email_sender_addresses = {}

# Tracing: xray, otel or off (docs/terraform.md, "Tracing"). otel adds the ADOT Python
# layer of each architecture in this region, for example
#   otel_layer_arns = { arm64 = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-arm64-ver-<version>:<n>" }
tracing_backend = "xray"

# REQUIRED before the first plan, which fails while it is empty and a route is
# declared "auth": "jwt": the issuer of your customers' tokens and the
# audience(s) they are issued for (docs/terraform.md, "What you set per environment"), e.g.
#   jwt_issuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
#   jwt_audience = ["<app client id>"]
jwt_issuer   = ""
jwt_audience = []
