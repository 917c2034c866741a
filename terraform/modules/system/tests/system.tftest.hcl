# Plan-mode tests of the wiring derived from the declarations, with a mocked AWS
# provider. Run by `make tf-test`, which writes placeholder packages for every
# manifest (services/ and the fixtures) into build/terraform/test-artifacts and
# passes -var artifacts_dir=... .

mock_provider "aws" {
  override_during = plan

  # Computed ARNs the assertions compare; everything else gets generated values.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock" }
  }
  mock_resource "aws_sesv2_email_identity" {
    defaults = { arn = "arn:aws:ses:eu-west-1:123456789012:identity/mock" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mock"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mock"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock/invocations"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  environment            = "test"
  alarm_subscriptions    = [{ protocol = "email", endpoint = "oncall@test.example.com" }]
  email_sender_addresses = { orders = "orders@test.example.com" }
  jwt_authorizer         = { issuer = "https://issuer.test.example.com", audience = ["orders-web"] }
}

override_resource {
  target          = module.topics["orders"].aws_sns_topic.this
  override_during = plan
  values = {
    arn  = "arn:aws:sns:eu-west-1:123456789012:test-orders"
    name = "test-orders"
  }
}

override_resource {
  target          = module.topics["inventory"].aws_sns_topic.this
  override_during = plan
  values = {
    arn  = "arn:aws:sns:eu-west-1:123456789012:test-inventory"
    name = "test-inventory"
  }
}

override_resource {
  target          = module.http_api[0].aws_apigatewayv2_authorizer.jwt
  override_during = plan
  values          = { id = "jwt123" }
}

override_resource {
  target          = module.alarm_topic.aws_sns_topic.this
  override_during = plan
  values = {
    arn  = "arn:aws:sns:eu-west-1:123456789012:test-alarms"
    name = "test-alarms"
  }
}

override_resource {
  target          = module.services["inventory"].aws_sqs_queue.on_failure
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:test-inventory-on-failure"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/test-inventory-on-failure"
  }
}

override_resource {
  target          = module.services["inventory"].aws_sqs_queue.delivery_dlq[0]
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:test-inventory-delivery-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/test-inventory-delivery-dlq"
  }
}

override_resource {
  target          = module.services["orders_api"].aws_sqs_queue.on_failure
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:test-orders-api-on-failure"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/test-orders-api-on-failure"
  }
}

run "functions_follow_the_manifests" {
  command = plan

  assert {
    condition = output.function_names == {
      inventory          = "test-inventory"
      order_confirmation = "test-order-confirmation"
      order_status       = "test-order-status"
      orders_api         = "test-orders-api"
    }
    error_message = "One function per services/*/service.json, named <env>-<service in kebab-case>."
  }

  assert {
    condition = (
      module.services["orders_api"].function_settings.handler == "orders_api.handler.handle" &&
      module.services["orders_api"].function_settings.runtime == "python3.13" &&
      module.services["orders_api"].function_settings.architecture == "arm64" &&
      module.services["orders_api"].function_settings.memory_mb == 512 &&
      module.services["orders_api"].function_settings.timeout_s == 10 &&
      module.services["inventory"].function_settings.timeout_s == 30
    )
    error_message = "Handler, runtime, architecture, memory and timeout come from the manifest."
  }

  assert {
    condition     = module.services["orders_api"].function_settings.tracing_mode == "Active"
    error_message = "Functions trace with X-Ray."
  }

  assert {
    condition = module.services["orders_api"].environment_variables == {
      MESSAGING_TRACING     = "xray"
      SERVICE_NAME          = "orders_api"
      ENVIRONMENT           = "test"
      PUBLISHES             = "order.placed"
      LOG_LEVEL             = "INFO"
      TOPIC_ARN_ORDERS      = "arn:aws:sns:eu-west-1:123456789012:test-orders"
      TABLE_ORDERS          = "test-orders"
      BUCKET_LARGE_EVENTS   = "test-large-events-123456789012"
      DEAD_LETTER_QUEUE_URL = module.services["orders_api"].dead_letter_queue_url
      FUNCTION_TIMEOUT_S    = "10"
      IDEMPOTENCY_TTL_S     = "1209660" # maximum event age 60 s + 14 days of dead-letter retention
    }
    error_message = "orders_api's environment follows the contract with the messaging package."
  }

  assert {
    condition = (
      module.services["inventory"].environment_variables["PUBLISHES"] == "inventory.reserved,inventory.rejected" &&
      module.services["inventory"].environment_variables["TOPIC_ARN_INVENTORY"] == "arn:aws:sns:eu-west-1:123456789012:test-inventory" &&
      module.services["inventory"].environment_variables["TABLE_STOCK"] == "test-stock" &&
      module.services["inventory"].environment_variables["TABLE_IDEMPOTENCY"] == "test-idempotency" &&
      module.services["order_confirmation"].environment_variables["EMAIL_SENDER_ORDERS"] == "orders@test.example.com" &&
      module.services["order_confirmation"].environment_variables["PUBLISHES"] == ""
    )
    error_message = "PUBLISHES, TOPIC_ARN_*, TABLE_* and EMAIL_SENDER_* follow the manifests."
  }

  assert {
    condition = (
      sort(keys(module.services["inventory"].subscriptions)) == sort(["orders"]) &&
      module.services["inventory"].subscriptions["orders"].filter_policy == jsonencode({ event_type = ["order.placed"], fulfilment = ["physical"] }) &&
      module.services["inventory"].subscriptions["orders"].filter_policy_scope == "MessageAttributes" &&
      module.services["inventory"].subscriptions["orders"].protocol == "lambda" &&
      module.services["inventory"].subscriptions["orders"].topic_arn == "arn:aws:sns:eu-west-1:123456789012:test-orders"
    )
    error_message = "inventory subscribes to orders with event_type order.placed and its extra fulfilment filter."
  }

  assert {
    condition = (
      sort(keys(module.services["order_status"].subscriptions)) == sort(["inventory", "orders"]) &&
      module.services["order_status"].subscriptions["inventory"].filter_policy == jsonencode({ event_type = ["inventory.rejected", "inventory.reserved"] }) &&
      module.services["order_status"].subscriptions["orders"].filter_policy == jsonencode({ event_type = ["order.placed"] })
    )
    error_message = "order_status has one subscription per topic: inventory filtering on both stock outcomes, orders on order.placed."
  }

  assert {
    condition = (
      length(module.services["orders_api"].subscriptions) == 0 &&
      sort(keys(module.services["order_confirmation"].subscriptions)) == sort(["orders"]) &&
      module.services["order_confirmation"].subscriptions["orders"].filter_policy == jsonencode({ event_type = ["order.placed"] })
    )
    error_message = "Subscriptions exist exactly for the subscribed topics."
  }

  assert {
    condition = (
      module.services["inventory"].subscriptions["orders"].permission_source == "arn:aws:sns:eu-west-1:123456789012:test-orders" &&
      module.services["inventory"].subscriptions["orders"].protocol == "lambda"
    )
    error_message = "SNS may invoke a function only from the topic it subscribes to."
  }

  assert {
    condition = (
      [for s in jsondecode(module.services["orders_api"].role_policy).Statement : s.Resource if s.Sid == "PublishDeclaredEvents"] == [["arn:aws:sns:eu-west-1:123456789012:test-orders"]] &&
      [for s in jsondecode(module.services["inventory"].role_policy).Statement : s.Resource if s.Sid == "PublishDeclaredEvents"] == [["arn:aws:sns:eu-west-1:123456789012:test-inventory"]] &&
      length([for s in jsondecode(module.services["order_status"].role_policy).Statement : s if contains(s.Action, "sns:Publish")]) == 0 &&
      length([for s in jsondecode(module.services["order_confirmation"].role_policy).Statement : s if contains(s.Action, "sns:Publish")]) == 0
    )
    error_message = "Each function may publish only to the topics of the event types it declares."
  }

  assert {
    condition = (
      module.services["inventory"].on_failure.destination_arn == module.services["inventory"].dead_letter_queue_arn &&
      module.services["inventory"].on_failure.maximum_retry_attempts == 2 &&
      module.services["orders_api"].on_failure.maximum_retry_attempts == 0 &&
      module.services["orders_api"].on_failure.maximum_event_age_s == 60 &&
      module.services["orders_api"].on_failure.destination_arn == module.services["orders_api"].dead_letter_queue_arn
    )
    error_message = "Asynchronous failures go to the service's own on-failure queue with the manifest's retries."
  }

  assert {
    condition = (
      module.services["inventory"].subscriptions["orders"].redrive_target_arn == module.services["inventory"].delivery_dlq_arn &&
      module.services["orders_api"].delivery_dlq_arn == null
    )
    error_message = "Subscriptions redrive undeliverable messages to the service's delivery dead-letter queue."
  }

  assert {
    condition = (
      module.services["orders_api"].schedule.expression == "rate(1 minute)" &&
      module.services["inventory"].schedule == null
    )
    error_message = "A manifest's schedule becomes an EventBridge rule invoking that function only."
  }

  assert {
    condition     = module.http_api[0].route_keys == tolist(["GET /orders/{order_id}", "GET /orders/{order_id}/receipt", "POST /orders"])
    error_message = "The HTTP API serves exactly the declared routes."
  }

  assert {
    condition     = output.jwt_routes == tolist(["GET /orders/{order_id}/receipt"])
    error_message = "jwt_routes lists the routes whose manifests declare auth jwt."
  }

  assert {
    condition = (
      module.http_api[0].route_authorization["GET /orders/{order_id}/receipt"].authorization_type == "JWT" &&
      module.http_api[0].route_authorization["GET /orders/{order_id}/receipt"].authorizer_id == "jwt123" &&
      module.http_api[0].route_authorization["GET /orders/{order_id}"].authorization_type == "NONE" &&
      module.http_api[0].route_authorization["GET /orders/{order_id}"].authorizer_id == null &&
      module.http_api[0].route_authorization["POST /orders"].authorization_type == "NONE"
    )
    error_message = "Routes declared jwt use the JWT authorizer; routes declared none are public."
  }
}

run "a_new_manifest_needs_no_terraform_edit" {
  command = plan

  variables {
    services_dirs = ["../../../services", "tests/fixtures/extra_services"]
  }

  assert {
    condition     = length(output.function_names) == 5 && output.function_names["audit_log"] == "test-audit-log"
    error_message = "The throwaway manifest adds a function."
  }

  assert {
    condition = (
      module.services["audit_log"].function_settings.memory_mb == 128 &&
      module.services["audit_log"].function_settings.timeout_s == 10 &&
      module.services["audit_log"].function_settings.runtime == "python3.13" &&
      module.services["audit_log"].function_settings.architecture == "arm64" &&
      module.services["audit_log"].on_failure.maximum_retry_attempts == 2 &&
      module.services["audit_log"].on_failure.maximum_event_age_s == 3600
    )
    error_message = "Absent manifest fields take the defaults python3.13, arm64, 10 s, 2 retries, 3600 s."
  }

  assert {
    condition = (
      sort(keys(module.services["audit_log"].subscriptions)) == sort(["inventory", "orders"]) &&
      module.services["audit_log"].subscriptions["inventory"].filter_policy == jsonencode({ channel = ["web"], event_type = ["inventory.rejected", "inventory.reserved"] }) &&
      module.services["audit_log"].subscriptions["orders"].filter_policy == jsonencode({ event_type = ["order.placed"] })
    )
    error_message = "The new service gets one subscription per topic with its filters."
  }

  assert {
    condition = (
      module.services["audit_log"].environment_variables["BUCKET_LARGE_EVENTS"] == "test-large-events-123456789012" &&
      module.services["audit_log"].environment_variables["PUBLISHES"] == "" &&
      length([for s in jsondecode(module.services["audit_log"].role_policy).Statement : s if contains(s.Action, "sns:Publish")]) == 0
    )
    error_message = "The new service reads its bucket and may publish nothing."
  }
}

run "different_filters_on_one_topic_fail_the_plan" {
  command = plan

  variables {
    services_dirs = ["tests/fixtures/conflicting_services"]
  }

  expect_failures = [terraform_data.manifest_checks]
}

run "different_deliveries_on_one_topic_fail_the_plan" {
  command = plan

  variables {
    services_dirs = ["tests/fixtures/conflicting_deliveries"]
  }

  expect_failures = [terraform_data.manifest_checks]
}

run "queue_delivery_follows_the_manifest_and_the_environment" {
  command = plan

  variables {
    queue_maximum_concurrency_overrides = { order_confirmation = 7 }
  }

  assert {
    condition = (
      module.services["order_confirmation"].subscriptions["orders"].protocol == "sqs" &&
      module.services["order_confirmation"].subscriptions["orders"].endpoint == module.services["order_confirmation"].delivery_queues["orders"].queue_arn &&
      module.services["order_confirmation"].subscriptions["orders"].permission_source == null &&
      module.services["order_confirmation"].subscriptions["orders"].filter_policy == jsonencode({ event_type = ["order.placed"] })
    )
    error_message = "order_confirmation's topic delivers to its queue, with the filter policy, and may not invoke the function."
  }

  assert {
    condition = (
      module.services["order_confirmation"].delivery_queues["orders"].batch_size == 10 &&
      module.services["order_confirmation"].delivery_queues["orders"].maximum_batching_window == 1 &&
      module.services["order_confirmation"].delivery_queues["orders"].maximum_concurrency == 7 &&
      module.services["order_confirmation"].delivery_queues["orders"].max_receive_count == 5 &&
      module.services["order_confirmation"].delivery_queues["orders"].visibility_timeout_s == 6 * 30 + 1 &&
      module.services["order_confirmation"].delivery_queues["orders"].raw_message_delivery == false
    )
    error_message = "The queue and its event source mapping carry the manifest's settings, the derived visibility timeout and the environment's maximum concurrency."
  }

  assert {
    condition = (
      length(module.services["inventory"].delivery_queues) == 0 &&
      module.services["inventory"].subscriptions["orders"].protocol == "lambda"
    )
    error_message = "A direct subscription gets no queue."
  }

  assert {
    condition = contains(
      [for s in jsondecode(module.services["order_confirmation"].role_policy).Statement : s.Sid],
      "ReadOwnDeliveryQueues"
      ) && !contains(
      [for s in jsondecode(module.services["inventory"].role_policy).Statement : s.Sid],
      "ReadOwnDeliveryQueues"
    )
    error_message = "Only a queue-delivered consumer's role may read a delivery queue."
  }
}

run "alarms_reach_the_subscribers_once_per_topic" {
  command = plan

  assert {
    condition = (
      length(aws_sns_topic_subscription.alarms) == 1 &&
      aws_sns_topic_subscription.alarms["email:oncall@test.example.com"].protocol == "email" &&
      aws_sns_topic_subscription.alarms["email:oncall@test.example.com"].endpoint == "oncall@test.example.com" &&
      aws_sns_topic_subscription.alarms["email:oncall@test.example.com"].topic_arn == "arn:aws:sns:eu-west-1:123456789012:test-alarms"
    )
    error_message = "Each alarm_subscriptions entry subscribes to the alarm topic."
  }

  assert {
    condition = (
      module.topics["orders"].alarm_names == {
        notifications-failed  = "test-orders-notifications-failed"
        redrive-to-dlq-failed = "test-orders-redrive-to-dlq-failed"
      } &&
      length(module.topics["inventory"].alarm_names) == 2 &&
      length(module.alarm_topic.alarm_names) == 0
    )
    error_message = "Each topic has one set of delivery alarms, whatever the number of subscribers; the alarm topic none."
  }

  assert {
    condition = (
      module.http_api[0].alarm_names == {
        server-errors = "test-http-server-errors"
        latency-p99   = "test-http-latency-p99"
      }
    )
    error_message = "The HTTP API alarms on 5xx answers and on p99 latency."
  }
}

run "xray_is_the_default_backend_and_may_write_traces" {
  command = plan

  assert {
    condition = alltrue([for name, s in module.services : (
      s.function_settings.tracing_mode == "Active" && length(s.function_settings.layers) == 0 &&
      s.environment_variables["MESSAGING_TRACING"] == "xray" &&
      !contains(keys(s.environment_variables), "AWS_LAMBDA_EXEC_WRAPPER") &&
      [for st in jsondecode(s.role_policy).Statement : st.Action if st.Sid == "WriteTraces"] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]
    )])
    error_message = "With xray every function traces actively, without a layer, and may write segments."
  }
}

run "otel_adds_the_adot_layer_and_exports_to_its_collector" {
  command = plan

  variables {
    tracing_backend = "otel"
    otel_layer_arns = {
      arm64  = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-arm64-ver-1-32-0:1"
      x86_64 = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-amd64-ver-1-32-0:1"
    }
  }

  assert {
    condition = alltrue([for name, s in module.services : (
      s.function_settings.tracing_mode == "Active" &&
      s.function_settings.layers == tolist([var.otel_layer_arns[s.function_settings.architecture]]) &&
      s.environment_variables["MESSAGING_TRACING"] == "otel" &&
      !contains(keys(s.environment_variables), "AWS_LAMBDA_EXEC_WRAPPER") &&
      s.environment_variables["OTEL_SERVICE_NAME"] == name &&
      s.environment_variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318" &&
      [for st in jsondecode(s.role_policy).Statement : st.Action if st.Sid == "WriteTraces"] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]
    )])
    error_message = "With otel every function gets its architecture's ADOT layer, no wrapper, the layer's collector as its OTLP endpoint and the X-Ray write that collector needs."
  }
}

run "tracing_off_records_and_grants_nothing" {
  command = plan

  variables {
    tracing_backend = "off"
  }

  assert {
    condition = alltrue([for name, s in module.services : (
      s.function_settings.tracing_mode == "PassThrough" && length(s.function_settings.layers) == 0 &&
      s.environment_variables["MESSAGING_TRACING"] == "off" &&
      length([for st in jsondecode(s.role_policy).Statement : st if anytrue([for a in flatten([st.Action]) : startswith(a, "xray:")])]) == 0
    )])
    error_message = "With tracing off no function records traces or may call X-Ray."
  }
}

run "an_unknown_tracing_backend_fails_the_plan" {
  command = plan

  variables {
    tracing_backend = "datadog"
  }

  expect_failures = [var.tracing_backend]
}

run "otel_without_a_layer_fails_the_plan" {
  command = plan

  variables {
    tracing_backend = "otel"
  }

  expect_failures = [var.otel_layer_arns]
}

run "sns_may_write_traces_of_this_environments_topics" {
  command = plan

  assert {
    condition = (
      jsondecode(aws_xray_resource_policy.sns_active_tracing[0].policy_document).Statement[0].Principal == { Service = "sns.amazonaws.com" } &&
      jsondecode(aws_xray_resource_policy.sns_active_tracing[0].policy_document).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012" &&
      sort(jsondecode(aws_xray_resource_policy.sns_active_tracing[0].policy_document).Statement[0].Condition.ArnLike["aws:SourceArn"]) == sort([
        "arn:aws:sns:eu-west-1:123456789012:test-inventory",
        "arn:aws:sns:eu-west-1:123456789012:test-orders",
      ])
    )
    error_message = "The X-Ray resource policy admits sns.amazonaws.com for this account's event topics only."
  }
}

run "without_alarm_subscribers_every_plan_warns" {
  command = plan

  variables {
    alarm_subscriptions = []
  }

  expect_failures = [check.alarms_reach_someone]

  assert {
    condition     = length(aws_sns_topic_subscription.alarms) == 0
    error_message = "Without subscribers the alarm topic has none, and the check says so."
  }
}

run "an_environment_without_a_sender_address_fails_the_plan" {
  command = plan

  variables {
    email_sender_addresses = {}
  }

  expect_failures = [terraform_data.email_senders]
}

run "a_filter_policy_with_too_many_keys_fails_the_plan" {
  command = plan

  variables {
    services_dirs = ["tests/fixtures/wide_filters"]
  }

  expect_failures = [terraform_data.filter_limits]
}

run "a_filter_policy_with_too_many_combinations_fails_the_plan" {
  command = plan

  variables {
    services_dirs = ["tests/fixtures/broad_filters"]
  }

  expect_failures = [terraform_data.filter_limits]
}

run "a_filter_on_the_generated_event_type_key_fails_the_plan" {
  command = plan

  variables {
    services_dirs = ["tests/fixtures/generated_key_filters"]
  }

  expect_failures = [terraform_data.filter_limits]
}
