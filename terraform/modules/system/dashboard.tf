# One CloudWatch dashboard per environment, derived from the declarations: for each
# service its function's own metrics beside the EMF metrics messaging/metrics.py writes
# for the event types it publishes and consumes; for each topic its delivery metrics.
# The namespace is the catalog's (metrics.namespace), the one the package writes to.

locals {
  metrics_namespace = local.catalog.metrics.namespace
  # The names messaging/metrics.py writes (COUNTS and DURATION); the read-back test
  # checks this dashboard against them.
  consumer_counts = ["Handled", "Rejected", "Failed", "DuplicateSkipped"]

  dashboard_region = data.aws_region.current.name

  service_widgets = flatten([for name in sort(keys(local.services)) : [
    {
      title = "${name}: function"
      metrics = [
        ["AWS/Lambda", "Invocations", "FunctionName", module.services[name].function_name],
        [".", "Errors", ".", "."],
        [".", "Throttles", ".", "."],
        [".", "Duration", ".", ".", { stat = "p99", yAxis = "right" }],
      ]
    },
    {
      title = "${name}: events"
      metrics = concat(
        [for event_type in local.services[name].publishes :
        [local.metrics_namespace, "Published", "Service", name, "EventType", event_type]],
        # concat(), not flatten(): each metric is itself a list and must stay one.
        concat([], [for s in local.services[name].subscribes : concat(
          [for count in local.consumer_counts :
          [local.metrics_namespace, count, "Service", name, "EventType", s.event_type]],
          [[local.metrics_namespace, "HandleDuration", "Service", name, "EventType", s.event_type, { stat = "p99", yAxis = "right" }]],
        )]...),
      )
    },
  ]])

  topic_widgets = [for topic in sort(keys(local.catalog.topics)) : {
    title = "topic ${topic}"
    metrics = [
      ["AWS/SNS", "NumberOfMessagesPublished", "TopicName", module.topics[topic].name],
      [".", "NumberOfNotificationsFailed", ".", "."],
    ]
  }]

  # A service that neither publishes nor consumes has no event widget content.
  dashboard_widgets = [for w in concat(local.service_widgets, local.topic_widgets) : w if length(w.metrics) > 0]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.environment}-messaging"
  dashboard_body = jsonencode({
    widgets = [for index, widget in local.dashboard_widgets : {
      type   = "metric"
      x      = (index % 2) * 12
      y      = floor(index / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = widget.title
        region  = local.dashboard_region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 300
        metrics = widget.metrics
      }
    }]
  })
}
