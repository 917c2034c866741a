# An API Gateway HTTP API (payload format 2.0) in front of the functions whose
# manifests declare routes: one Lambda proxy integration per function, one
# route per declared route, a $default stage with access logging and default
# throttling, and invoke permissions scoped to each route.

locals {
  functions = { for f in distinct([for r in values(var.routes) : r.function_name]) :
    f => one(distinct([for r in values(var.routes) : r.invoke_arn if r.function_name == f]))
  }
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment size (log_retention_days in terraform.tfvars); prod keeps a year.
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "HTTP front door of the services that declare routes."
  tags          = var.tags
}

resource "aws_apigatewayv2_integration" "function" {
  for_each = local.functions

  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = each.value
  payload_format_version = "2.0"
}

# API Gateway checks the token before the function runs and passes its claims in
# requestContext.authorizer.jwt.claims; a request without a valid one gets 401.
resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.jwt_authorizer != null ? 1 : 0

  api_id           = aws_apigatewayv2_api.this.id
  name             = "${var.name}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_authorizer.issuer
    audience = var.jwt_authorizer.audience
  }
}

resource "aws_apigatewayv2_route" "this" {
  for_each = var.routes

  #checkov:skip=CKV_AWS_309:Routes declared "auth": "none" in their manifest are public on purpose (placing an order, reading it without personal data); they are bounded by the stage's default throttling and validated by the function. Routes declared "jwt" get the JWT authorizer.
  api_id               = aws_apigatewayv2_api.this.id
  route_key            = each.key
  target               = "integrations/${aws_apigatewayv2_integration.function[each.value.function_name].id}"
  authorization_type   = each.value.auth == "jwt" ? "JWT" : "NONE"
  authorizer_id        = each.value.auth == "jwt" ? aws_apigatewayv2_authorizer.jwt[0].id : null
  authorization_scopes = each.value.auth == "jwt" && length(each.value.scopes) > 0 ? each.value.scopes : null
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationError   = "$context.integrationErrorMessage"
      integrationLatency = "$context.integrationLatency"
    })
  }
}

# One permission per route: API Gateway may invoke the function only for the
# method and path it serves ({param} segments become *).
resource "aws_lambda_permission" "route" {
  for_each = var.routes

  statement_id  = "http-${lower(each.value.method)}-${substr(sha1(each.key), 0, 12)}"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/${each.value.method}${replace(each.value.path, "/\\{[^}/]+\\}/", "*")}"
}
