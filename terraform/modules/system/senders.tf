# Each environment sends from its own, verifiable address: shared/resources.json
# names the senders, the environment's tfvars give their addresses.
resource "terraform_data" "email_senders" {
  input = var.email_sender_addresses

  lifecycle {
    precondition {
      condition     = length(setsubtract(keys(local.resources.email_senders), keys(var.email_sender_addresses))) == 0
      error_message = "Environment ${var.environment}: no address for the e-mail sender(s) ${join(", ", sort(setsubtract(keys(local.resources.email_senders), keys(var.email_sender_addresses))))} of shared/resources.json; set email_sender_addresses in terraform/environments/${var.environment}/terraform.tfvars."
    }
    precondition {
      condition     = length(setsubtract(keys(var.email_sender_addresses), keys(local.resources.email_senders))) == 0
      error_message = "Environment ${var.environment}: email_sender_addresses names ${join(", ", sort(setsubtract(keys(var.email_sender_addresses), keys(local.resources.email_senders))))}, not an e-mail sender of shared/resources.json."
    }
  }
}
