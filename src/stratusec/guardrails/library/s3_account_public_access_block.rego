# title: The account blocks S3 public access
# severity: high
# resource_types: [aws_s3_account_public_access_block]
# description: >
#   All four account-level S3 public access block settings are on (CIS AWS 2.1.4).
package stratusec.guardrails.s3_account_public_access_block

off contains "block_public_acls" if not input.config.block_public_acls == true

off contains "block_public_policy" if not input.config.block_public_policy == true

off contains "ignore_public_acls" if not input.config.ignore_public_acls == true

off contains "restrict_public_buckets" if not input.config.restrict_public_buckets == true

deny contains msg if {
	input.resource_type == "aws_s3_account_public_access_block"
	some flag in off
	msg := sprintf("%s: account public access block leaves %s off", [input.resource_name, flag])
}
