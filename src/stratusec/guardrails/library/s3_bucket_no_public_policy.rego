# title: S3 bucket policies do not allow everyone
# severity: critical
# resource_types: [aws_s3_bucket, aws_s3_bucket_policy]
# description: >
#   No Allow statement with Principal "*" (or AWS "*") and no condition to narrow it.
package stratusec.guardrails.s3_bucket_no_public_policy

import data.stratusec.lib

deny contains msg if {
	input.resource_type in {"aws_s3_bucket", "aws_s3_bucket_policy"}
	some s in lib.statements(lib.document(input.config.policy))
	lib.public_allow(s)
	msg := sprintf("%s: bucket policy statement %s allows everyone (%v)", [input.resource_name, lib.sid(s), s.Action])
}
