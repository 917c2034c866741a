# Plan-mode test of an environment with its own terraform.tfvars and a mocked
# provider: staging and prod refuse to plan until someone has said who hears
# the alarms and, since routes are declared "auth": "jwt", who issues the tokens. Run by `make tf-test` in every environment whose directory links
# this folder (staging and prod; dev opts out with require_alarm_subscriptions).

mock_provider "aws" {
  override_during = plan

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

run "the_checked_in_tfvars_do_not_plan_without_alarm_subscribers" {
  command = plan

  # The sender address has its own plan-time check in modules/system (every
  # environment); here only the alarm routing is left as checked in.
  variables {
    email_sender_addresses = { orders = "orders@example.com" }
    jwt_issuer             = "https://issuer.example.com"
    jwt_audience           = ["orders-web"]
  }

  expect_failures = [var.alarm_subscriptions]
}

run "the_requirement_cannot_be_switched_off_outside_dev" {
  command = plan

  variables {
    require_alarm_subscriptions = false
    email_sender_addresses      = { orders = "orders@example.com" }
    jwt_issuer                  = "https://issuer.example.com"
    jwt_audience                = ["orders-web"]
  }

  expect_failures = [var.alarm_subscriptions]
}

run "with_subscribers_set_the_environment_plans" {
  command = plan

  variables {
    alarm_subscriptions    = [{ protocol = "email", endpoint = "oncall@example.com" }]
    email_sender_addresses = { orders = "orders@example.com" }
    jwt_issuer             = "https://issuer.example.com"
    jwt_audience           = ["orders-web"]
  }

  assert {
    condition     = length(module.system.function_names) > 0
    error_message = "Once set, the environment plans its functions."
  }
}

# The manifests declare jwt routes, so the checked-in empty issuer cannot plan.
run "the_checked_in_tfvars_do_not_plan_without_a_jwt_issuer" {
  command = plan

  variables {
    alarm_subscriptions    = [{ protocol = "email", endpoint = "oncall@example.com" }]
    email_sender_addresses = { orders = "orders@example.com" }
  }

  expect_failures = [var.jwt_issuer]
}
