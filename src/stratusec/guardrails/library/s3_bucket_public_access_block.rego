# title: S3 buckets block public access
# severity: high
# resource_types: [aws_s3_bucket, aws_s3_bucket_public_access_block]
# description: >
#   All four bucket-level public access block settings are on: block_public_acls,
#   block_public_policy, ignore_public_acls and restrict_public_buckets.
package stratusec.guardrails.s3_bucket_public_access_block

flags := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

off(pab) := [f | some f in flags; not pab[f] == true]

deny contains msg if {
	input.resource_type == "aws_s3_bucket"
	pab := input.config.public_access_block
	pab == null
	msg := sprintf("%s: bucket has no public access block", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_s3_bucket"
	pab := input.config.public_access_block
	is_object(pab)
	some flag in off(pab)
	msg := sprintf("%s: bucket public access block leaves %s off", [input.resource_name, flag])
}

# The resource's own flags (a plan knows all four: they default to false).
resource_off contains "block_public_acls" if not input.config.block_public_acls == true

resource_off contains "block_public_policy" if not input.config.block_public_policy == true

resource_off contains "ignore_public_acls" if not input.config.ignore_public_acls == true

resource_off contains "restrict_public_buckets" if not input.config.restrict_public_buckets == true

deny contains msg if {
	input.resource_type == "aws_s3_bucket_public_access_block"
	some flag in resource_off
	msg := sprintf("%s: public access block leaves %s off", [input.resource_name, flag])
}
