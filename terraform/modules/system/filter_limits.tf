# AWS's limits on one subscription filter policy, checked at plan time so an
# oversized policy fails `terraform plan` naming the service and the topic
# instead of failing the apply. The limits have one home, shared/aws_limits.json,
# which tools/topology.py reads too. AWS counts the generated event_type key
# and multiplies the value counts of all keys.

locals {
  filter_limits = jsondecode(file("${local.repo_root}/shared/aws_limits.json")).sns_filter_policy

  filter_limit_violations = { for name, topics in local.filter_policies : name => flatten([
    for topic, policy in topics : [
      for problem in [
        length(jsondecode(policy)) > local.filter_limits.max_keys
        ? "${length(jsondecode(policy))} keys (at most ${local.filter_limits.max_keys}, event_type included)" : "",
        # The product of the value counts, through logarithms: Terraform has no product().
        floor(pow(2, sum([for v in values(jsondecode(policy)) : log(length(v), 2)])) + 0.5) > local.filter_limits.max_combinations
        ? "${floor(pow(2, sum([for v in values(jsondecode(policy)) : log(length(v), 2)])) + 0.5)} value combinations (at most ${local.filter_limits.max_combinations})" : "",
        # Bytes of the UTF-8 JSON, from its base64 length (rounded up by at most 2).
        ceil(length(base64encode(policy)) * 3 / 4) > local.filter_limits.max_bytes
        ? "about ${ceil(length(base64encode(policy)) * 3 / 4)} bytes (at most ${local.filter_limits.max_bytes})" : "",
      ] : "topic ${topic}: ${problem}" if problem != ""
    ]
  ]) }

  # A manifest filter on event_type would silently replace the generated one
  # (the manifest schema refuses it too; Terraform does not read the schema).
  generated_key_overrides = { for name, topics in local.subscribed_topics : name => [
    for topic, t in topics : topic if anytrue([for f in t.filters : contains(keys(jsondecode(f)), "event_type")])
  ] }
}

resource "terraform_data" "filter_limits" {
  for_each = local.filter_policies

  input = each.value

  lifecycle {
    precondition {
      condition     = length(local.generated_key_overrides[each.key]) == 0
      error_message = "Service ${each.key}: its filter on topic(s) ${join(", ", local.generated_key_overrides[each.key])} sets event_type, which is generated from the subscribed event types. Remove it from services/${each.key}/service.json."
    }
    precondition {
      condition     = length(local.filter_limit_violations[each.key]) == 0
      error_message = "Service ${each.key}: its SNS filter policy exceeds AWS's limits on ${join("; ", local.filter_limit_violations[each.key])}. Narrow the filters in services/${each.key}/service.json (docs/terraform.md, \"Filter-policy limits\")."
    }
  }
}
