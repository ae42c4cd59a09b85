# title: S3 buckets log access requests
# severity: low
# resource_types: [aws_s3_bucket]
# description: >
#   Server access logging is configured (a target bucket is set), so that requests can
#   be investigated. A plan that configures logging in a separate aws_s3_bucket_logging
#   leaves the attribute unknown and is not judged.
package stratusec.guardrails.s3_bucket_access_logging

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_s3_bucket"
	logging := input.config.logging
	not lib.present(lib.block(logging).target_bucket)
	msg := sprintf("%s: bucket server access logging is off", [input.resource_name])
}
