# The whole system, derived from the declarations: shared/events/catalog.json
# (topics and event types), shared/resources.json (tables, buckets, e-mail
# senders) and every services/*/service.json. Adding a service directory adds
# its function, role, queues, subscriptions, alarms and routes here with no
# Terraform edit.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  repo_root     = var.repo_root != null ? var.repo_root : abspath("${path.module}/../../..")
  services_dirs = length(var.services_dirs) > 0 ? var.services_dirs : ["${local.repo_root}/services"]
  artifacts_dir = var.artifacts_dir != null ? var.artifacts_dir : "${local.repo_root}/dist"

  catalog   = jsondecode(file("${local.repo_root}/shared/events/catalog.json"))
  resources = jsondecode(file("${local.repo_root}/shared/resources.json"))
  events    = local.catalog.events

  manifest_paths = merge([for d in local.services_dirs : {
    for f in fileset(d, "*/service.json") : dirname(f) => "${d}/${f}"
  }]...)
  manifests = { for name, p in local.manifest_paths : name => jsondecode(file(p)) }

  # Manifest defaults are stated once, in the manifest schema; the Python tools read it too.
  manifest_schema = jsondecode(file("${local.repo_root}/services/service.schema.json")).properties
  defaults        = { for k, p in local.manifest_schema : k => p.default if can(p.default) }
  retry_defaults  = { for k, p in local.manifest_schema.retries.properties : k => p.default if can(p.default) }
  queue_defaults  = { for k, p in local.manifest_schema.subscribes.items.properties.queue.properties : k => p.default if can(p.default) }

  services = { for name, m in local.manifests : name => {
    handler                = m.handler
    runtime                = try(m.runtime, local.defaults.runtime)
    architecture           = try(m.architecture, local.defaults.architecture)
    memory_mb              = try(m.memory_mb, local.defaults.memory_mb)
    timeout_s              = try(m.timeout_s, local.defaults.timeout_s)
    maximum_retry_attempts = try(m.retries.maximum_retry_attempts, local.retry_defaults.maximum_retry_attempts)
    maximum_event_age_s    = try(m.retries.maximum_event_age_s, local.retry_defaults.maximum_event_age_s)
    publishes              = [for e in m.publishes : e]
    subscribes = [for s in m.subscribes : {
      event_type    = s.event_type
      filter_json   = jsonencode(try(s.filter, {}))
      delivery_json = jsonencode({ delivery = try(s.delivery, "direct"), queue = try(s.queue, {}) })
    }]
    routes        = [for r in try(m.routes, local.defaults.routes) : { method = r.method, path = r.path, auth = try(r.auth, ""), scopes = try(r.scopes, []) }]
    schedule      = try(m.schedule, null)
    tables        = { for t, access in try(m.resources.tables, {}) : t => access }
    buckets       = { for b, access in try(m.resources.buckets, {}) : b => access }
    email_senders = [for s in try(m.resources.email_senders, []) : s]
  } }

  # Declarations that do not match the catalog or shared/resources.json.
  unknown_references = { for name, s in local.services : name => concat(
    [for e in s.publishes : "published event type ${e}" if !contains(keys(local.events), e)],
    [for x in s.subscribes : "subscribed event type ${x.event_type}" if !contains(keys(local.events), x.event_type)],
    [for t in keys(s.tables) : "table ${t}" if !contains(keys(local.resources.tables), t)],
    [for b in keys(s.buckets) : "bucket ${b}" if !contains(keys(local.resources.buckets), b)],
    [for e in s.email_senders : "e-mail sender ${e}" if !contains(keys(local.resources.email_senders), e)],
  ) }

  # Per (service, topic): the subscribed event types and the distinct extra filters.
  subscribed_topics = { for name, s in local.services : name => {
    for topic in distinct([for x in s.subscribes : try(local.events[x.event_type].topic, "")]) : topic => {
      event_types = sort(distinct([for x in s.subscribes : x.event_type if try(local.events[x.event_type].topic, "") == topic]))
      filters     = distinct([for x in s.subscribes : x.filter_json if try(local.events[x.event_type].topic, "") == topic])
      deliveries  = distinct([for x in s.subscribes : x.delivery_json if try(local.events[x.event_type].topic, "") == topic])
    } if topic != ""
  } }

  conflicting_filters = { for name, topics in local.subscribed_topics : name => [
    for topic, t in topics : topic if length(t.filters) > 1
  ] }
  conflicting_deliveries = { for name, topics in local.subscribed_topics : name => [
    for topic, t in topics : topic if length(t.deliveries) > 1
  ] }

  # Per (service, topic): direct, or queue with its settings over the schema's defaults.
  # The visibility timeout is six function timeouts plus the batching window (AWS's
  # advice; tools/topology.py derives the same); an environment may override the
  # maximum concurrency per service.
  deliveries = { for name, topics in local.subscribed_topics : name => {
    for topic, t in topics : topic => jsondecode(t.deliveries[0])
  } }
  queue_settings = { for name, topics in local.deliveries : name => {
    for topic, d in topics : topic => merge(local.queue_defaults, d.queue) if d.delivery == "queue"
  } }
  subscription_deliveries = { for name, topics in local.deliveries : name => {
    for topic, d in topics : topic => d.delivery == "direct" ? { delivery = "direct", queue = null } : {
      delivery                                                            = "queue"
      queue = {
        batch_size                = local.queue_settings[name][topic].batch_size
        maximum_batching_window_s = local.queue_settings[name][topic].maximum_batching_window_s
        maximum_concurrency       = lookup(var.queue_maximum_concurrency_overrides, name, local.queue_settings[name][topic].maximum_concurrency)
        max_receive_count         = local.queue_settings[name][topic].max_receive_count
        raw_message_delivery      = local.queue_settings[name][topic].raw_message_delivery
        dead_letter_retention_s   = local.queue_settings[name][topic].dead_letter_retention_s
        visibility_timeout_s      = min(6 * local.services[name].timeout_s + local.queue_settings[name][topic].maximum_batching_window_s, 43200)
      }
    }
  } }

  filter_policies = { for name, topics in local.subscribed_topics : name => {
    for topic, t in topics : topic => jsonencode(merge(
      { event_type = t.event_types },
      length(t.filters) == 1 ? jsondecode(t.filters[0]) : {},
    ))
  } }

  # dynamodb:Attributes must name the table's and its indexes' key attributes too (AWS
  # DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control").
  update_attributes = { for t, spec in local.resources.tables : t => {
    for service, attributes in try(spec.updated_by, {}) : service => sort(distinct(concat(
      [spec.hash_key],
      flatten([for i in values(try(spec.indexes, {})) : [i.hash_key, i.range_key]]),
      attributes,
    )))
  } }

  publish_topics = { for name, s in local.services : name => distinct([
    for e in s.publishes : local.events[e].topic if contains(keys(local.events), e)
  ]) }

  routes = merge([for name, s in local.services : {
    for r in s.routes : "${r.method} ${r.path}" => merge(r, { service = name })
  }]...)
}

# Plan-time checks of the manifests: a clear error naming the service instead
# of a half-wired deployment.
resource "terraform_data" "manifest_checks" {
  for_each = local.services

  input = sha1(jsonencode(local.manifests[each.key]))

  lifecycle {
    precondition {
      condition     = length(local.conflicting_filters[each.key]) == 0
      error_message = "Service ${each.key}: the event types it subscribes to on topic(s) ${join(", ", local.conflicting_filters[each.key])} carry different extra filters; one SNS subscription per topic can hold only one filter. Give them the same filter in services/${each.key}/service.json."
    }
    precondition {
      condition     = length(local.conflicting_deliveries[each.key]) == 0
      error_message = "Service ${each.key}: the event types it subscribes to on topic(s) ${join(", ", local.conflicting_deliveries[each.key])} carry different delivery settings; one subscription per topic has one delivery. Give them the same delivery and queue in services/${each.key}/service.json."
    }
    precondition {
      condition     = length(local.unknown_references[each.key]) == 0
      error_message = "Service ${each.key} declares ${join(", ", local.unknown_references[each.key])}, not found in shared/events/catalog.json or shared/resources.json."
    }
    precondition {
      condition     = fileexists("${local.artifacts_dir}/${each.key}.zip")
      error_message = "Service ${each.key}: ${local.artifacts_dir}/${each.key}.zip is missing; run `make build SERVICE=${each.key}` (or `make build-all`) first."
    }
    precondition {
      condition     = var.tracing_backend != "otel" || contains(keys(var.otel_layer_arns), local.services[each.key].architecture)
      error_message = "Service ${each.key} runs on ${local.services[each.key].architecture}, and tracing_backend otel needs otel_layer_arns[\"${local.services[each.key].architecture}\"]: the ADOT Python layer for that architecture."
    }
  }
}

# --- logs key ------------------------------------------------------------------

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

module "logs_key" {
  source = "../kms_key"

  description          = "Encrypts the CloudWatch log groups of ${var.environment}."
  alias                = "alias/${var.environment}-logs"
  deletion_window_days = var.key_deletion_window_days
  tags                 = var.tags

  service_statements = [{
    Sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
    Effect    = "Allow"
    Principal = { Service = "logs.${local.region}.amazonaws.com" }
    Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
    Resource  = "*"
    Condition = {
      ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*" }
    }
  }]
}

moved {
  from = aws_kms_key.logs
  to   = module.logs_key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.logs
  to   = module.logs_key.aws_kms_alias.this
}

# --- topics --------------------------------------------------------------------

module "topics" {
  source   = "../sns_topic"
  for_each = local.catalog.topics

  # Kebab-case, like every AWS name (tools/contract/names.py applies the same rule).
  name                                = "${var.environment}-${replace(each.key, "_", "-")}"
  log_kms_key_arn                     = module.logs_key.arn
  log_retention_days                  = var.log_retention_days
  delivery_status_success_sample_rate = var.delivery_status_success_sample_rate
  key_deletion_window_days            = var.key_deletion_window_days
  permissions_boundary_arn            = var.permissions_boundary_arn
  delivery_alarms                     = true
  alarm_topic_arn                     = module.alarm_topic.arn
  alarm_period_s                      = var.alarm_period_s
  tags                                = merge(var.tags, { topic = each.key })
}

module "alarm_topic" {
  source = "../sns_topic"

  name                         = "${var.environment}-alarms"
  publisher_service_principals = ["cloudwatch.amazonaws.com"]
  delivery_status_logging      = false
  log_kms_key_arn              = module.logs_key.arn
  log_retention_days           = var.log_retention_days
  key_deletion_window_days     = var.key_deletion_window_days
  tags                         = var.tags
}

# --- shared resources ----------------------------------------------------------

module "shared" {
  source = "../shared_resources"

  environment = var.environment
  tables = { for k, t in local.resources.tables : k => {
    hash_key      = t.hash_key
    ttl_attribute = try(t.ttl_attribute, null)
    indexes = { for i, index in try(t.indexes, {}) : i => {
      hash_key  = index.hash_key
      range_key = index.range_key
      projected = try(index.projected, [])
    } }
  } }
  buckets                  = { for k, b in local.resources.buckets : k => { expire_after_days = b.expire_after_days } }
  email_senders            = { for k in keys(local.resources.email_senders) : k => { address = var.email_sender_addresses[k] } if contains(keys(var.email_sender_addresses), k) }
  deletion_protection      = var.deletion_protection
  force_destroy_buckets    = var.force_destroy_buckets
  key_deletion_window_days = var.key_deletion_window_days
  tags                     = var.tags
}

# --- services ------------------------------------------------------------------

module "services" {
  source   = "../lambda_service"
  for_each = local.services

  environment  = var.environment
  service_name = each.key
  package_path = "${local.artifacts_dir}/${each.key}.zip"
  handler      = each.value.handler
  runtime      = each.value.runtime
  architecture = each.value.architecture
  memory_mb    = each.value.memory_mb
  timeout_s    = each.value.timeout_s

  maximum_retry_attempts = each.value.maximum_retry_attempts
  maximum_event_age_s    = each.value.maximum_event_age_s
  schedule               = each.value.schedule
  reserved_concurrency   = lookup(var.reserved_concurrency_overrides, each.key, var.reserved_concurrency)

  log_level          = var.log_level
  log_retention_days = var.log_retention_days
  log_kms_key_arn    = module.logs_key.arn

  tracing_backend = var.tracing_backend
  otel_layer_arn  = lookup(var.otel_layer_arns, each.value.architecture, null)

  publishes = each.value.publishes
  publish_topics = { for t in local.publish_topics[each.key] : t => {
    arn         = module.topics[t].arn
    kms_key_arn = module.topics[t].kms_key_arn
  } }
  subscriptions = { for t, policy in local.filter_policies[each.key] : t => {
    arn           = module.topics[t].arn
    filter_policy = policy
    delivery      = local.subscription_deliveries[each.key][t].delivery
    queue         = local.subscription_deliveries[each.key][t].queue
  } }

  tables = { for t, access in each.value.tables : t => merge(module.shared.tables[t], {
    access = access
    # A table whose items have owners: its creator may only create items, each updater
    # may only update its own attributes (with the keys IAM requires it to name).
    owned        = can(local.resources.tables[t].created_by)
    creates      = try(local.resources.tables[t].created_by, null) == each.key
    updates_only = try(local.resources.tables[t].updated_by[each.key], null) == null ? null : local.update_attributes[t][each.key]
  }) if contains(keys(module.shared.tables), t) }
  buckets = { for b, access in each.value.buckets : b => merge(module.shared.buckets[b], { access = access })
  if contains(keys(module.shared.buckets), b) }
  email_senders = { for e in each.value.email_senders : e => module.shared.email_senders[e]
  if contains(keys(module.shared.email_senders), e) }

  alarm_topic_arn          = module.alarm_topic.arn
  alarm_period_s           = var.alarm_period_s
  error_alarm_threshold    = var.error_alarm_threshold
  throttle_alarm_threshold = var.throttle_alarm_threshold
  key_deletion_window_days = var.key_deletion_window_days
  permissions_boundary_arn = var.permissions_boundary_arn
  tags                     = merge(var.tags, { service = each.key })
}

# --- HTTP API ------------------------------------------------------------------

module "http_api" {
  source = "../http_api"
  count  = length(local.routes) > 0 ? 1 : 0

  name = "${var.environment}-http"
  routes = { for key, r in local.routes : key => {
    method        = r.method
    path          = r.path
    function_name = module.services[r.service].function_name
    invoke_arn    = module.services[r.service].invoke_arn
    auth          = r.auth
    scopes        = r.scopes
  } }
  jwt_authorizer         = var.jwt_authorizer
  throttling_burst_limit = var.api_throttling_burst_limit
  throttling_rate_limit  = var.api_throttling_rate_limit
  log_retention_days     = var.log_retention_days
  log_kms_key_arn        = module.logs_key.arn
  alarm_topic_arn        = module.alarm_topic.arn
  alarm_period_s         = var.alarm_period_s
  tags                   = var.tags
}
