output "api_url" {
  description = "Invoke URL of the HTTP API (null when no service declares routes)."
  value       = length(module.http_api) > 0 ? module.http_api[0].url : null
}

output "topic_arns" {
  description = "Topic ARNs by catalog topic name."
  value       = { for k, t in module.topics : k => t.arn }
}

output "alarm_topic_arn" {
  description = "ARN of the topic every alarm notifies; subscribe the on-call channel to it."
  value       = module.alarm_topic.arn
}

output "function_names" {
  description = "Function names by service."
  value       = { for k, s in module.services : k => s.function_name }
}

output "dead_letter_queue_urls" {
  description = "On-failure destination queue URLs by service (DEAD_LETTER_QUEUE_URL)."
  value       = { for k, s in module.services : k => s.dead_letter_queue_url }
}

output "delivery_dlq_urls" {
  description = "Subscription redrive (delivery dead-letter) queue URLs by service, for services that subscribe."
  value       = { for k, s in module.services : k => s.delivery_dlq_url if s.delivery_dlq_url != null }
}

output "table_names" {
  description = "Physical table names by logical name."
  value       = { for k, t in module.shared.tables : k => t.name }
}

output "bucket_names" {
  description = "Physical bucket names by logical name."
  value       = { for k, b in module.shared.buckets : k => b.name }
}

output "wiring" {
  description = "What the declarations resolve to, per service: published topics, subscription filter policies and routes."
  value = { for k, s in local.services : k => {
    publishes       = s.publishes
    publish_topics  = local.publish_topics[k]
    filter_policies = local.filter_policies[k]
    routes          = [for r in s.routes : "${r.method} ${r.path}"]
    schedule        = s.schedule
  } }
}

output "jwt_routes" {
  description = "Route keys whose manifests declare \"auth\": \"jwt\"; known from the declarations alone, so an environment can require its issuer before planning anything."
  value       = sort([for key, r in local.routes : key if r.auth == "jwt"])
}
