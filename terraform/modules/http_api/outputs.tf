output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "url" {
  description = "Invoke URL of the $default stage."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "execution_arn" {
  description = "Execution ARN of the API (prefix of the invoke permissions' source ARNs)."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "route_keys" {
  description = "The route keys served."
  value       = sort(keys(aws_apigatewayv2_route.this))
}

output "alarm_names" {
  description = "Names of the API's alarms by kind (server-errors, latency-p99)."
  value       = module.alarms.names
}

output "jwt_authorizer_id" {
  description = "ID of the JWT authorizer of the routes with auth = \"jwt\" (null when none has it)."
  value       = one(aws_apigatewayv2_authorizer.jwt[*].id)
}

output "route_authorization" {
  description = "How each route is authorized, by route key: authorization_type (JWT or NONE), authorizer_id and authorization_scopes."
  value = { for key, r in aws_apigatewayv2_route.this : key => {
    authorization_type   = r.authorization_type
    authorizer_id        = r.authorizer_id
    authorization_scopes = r.authorization_scopes
  } }
}
