"""IAM checked offline by AWS's authorization reference: what a policy allows, which
IAM action and resource an API call needs, and the calls a deploy or a function made."""
