# Plan-mode tests of the module's route authorization, with a mocked AWS
# provider. Run by `make tf-test`.

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_apigatewayv2_authorizer" {
    defaults = { id = "jwt123" }
  }
}

variables {
  name            = "test-http"
  log_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:test-alarms"
  jwt_authorizer  = { issuer = "https://issuer.test.example.com", audience = ["orders-web", "orders-app"] }
  routes = {
    "GET /orders/{order_id}" = {
      method        = "GET", path = "/orders/{order_id}", auth = "none"
      function_name = "test-orders-api", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/f/invocations"
    }
    "GET /orders/{order_id}/receipt" = {
      method        = "GET", path = "/orders/{order_id}/receipt", auth = "jwt"
      function_name = "test-orders-api", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/f/invocations"
    }
    "DELETE /orders/{order_id}" = {
      method        = "DELETE", path = "/orders/{order_id}", auth = "jwt", scopes = ["orders/cancel"]
      function_name = "test-orders-api", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/f/invocations"
    }
  }
}

run "jwt_routes_use_the_authorizer_and_public_routes_none" {
  command = plan

  assert {
    condition = (
      aws_apigatewayv2_authorizer.jwt[0].authorizer_type == "JWT" &&
      aws_apigatewayv2_authorizer.jwt[0].identity_sources == toset(["$request.header.Authorization"]) &&
      aws_apigatewayv2_authorizer.jwt[0].jwt_configuration[0].issuer == "https://issuer.test.example.com" &&
      aws_apigatewayv2_authorizer.jwt[0].jwt_configuration[0].audience == toset(["orders-web", "orders-app"])
    )
    error_message = "One JWT authorizer reads the Authorization header and checks the given issuer and audience."
  }

  assert {
    condition = (
      aws_apigatewayv2_route.this["GET /orders/{order_id}/receipt"].authorization_type == "JWT" &&
      aws_apigatewayv2_route.this["GET /orders/{order_id}/receipt"].authorizer_id == "jwt123" &&
      aws_apigatewayv2_route.this["GET /orders/{order_id}/receipt"].authorization_scopes == null
    )
    error_message = "A jwt route without scopes needs a valid token, nothing more."
  }

  assert {
    condition = (
      aws_apigatewayv2_route.this["DELETE /orders/{order_id}"].authorization_type == "JWT" &&
      aws_apigatewayv2_route.this["DELETE /orders/{order_id}"].authorization_scopes == toset(["orders/cancel"])
    )
    error_message = "A jwt route's scopes become its authorization scopes."
  }

  assert {
    condition = (
      aws_apigatewayv2_route.this["GET /orders/{order_id}"].authorization_type == "NONE" &&
      aws_apigatewayv2_route.this["GET /orders/{order_id}"].authorizer_id == null
    )
    error_message = "A route declared none is public."
  }
}

run "a_jwt_route_without_an_authorizer_fails_the_plan" {
  command = plan

  variables {
    jwt_authorizer = null
  }

  expect_failures = [var.routes]
}

run "scopes_on_a_public_route_fail_the_plan" {
  command = plan

  variables {
    routes = {
      "GET /orders/{order_id}" = {
        method        = "GET", path = "/orders/{order_id}", auth = "none", scopes = ["orders/read"]
        function_name = "test-orders-api", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/f/invocations"
      }
    }
  }

  expect_failures = [var.routes]
}

run "an_unknown_auth_fails_the_plan" {
  command = plan

  variables {
    routes = {
      "GET /orders/{order_id}" = {
        method        = "GET", path = "/orders/{order_id}", auth = "iam"
        function_name = "test-orders-api", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/f/invocations"
      }
    }
  }

  expect_failures = [var.routes]
}

run "an_issuer_that_is_not_https_fails_the_plan" {
  command = plan

  variables {
    jwt_authorizer = { issuer = "http://issuer.test.example.com", audience = ["orders-web"] }
  }

  expect_failures = [var.jwt_authorizer]
}

run "an_empty_audience_fails_the_plan" {
  command = plan

  variables {
    jwt_authorizer = { issuer = "https://issuer.test.example.com", audience = [] }
  }

  expect_failures = [var.jwt_authorizer]
}
