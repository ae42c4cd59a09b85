# title: Active access keys are rotated within 90 days
# severity: medium
# resource_types: [aws_iam_access_key]
# description: >
#   An active access key is at most 90 days old (CIS AWS 1.14).
package stratusec.guardrails.iam_access_key_rotation

max_days := 90

deny contains msg if {
	input.resource_type == "aws_iam_access_key"
	input.config.status == "Active"
	created := time.parse_rfc3339_ns(input.config.create_date)
	days := floor((time.now_ns() - created) / ((24 * 3600) * 1000000000))
	days > max_days
	msg := sprintf("%s: active access key of %s is %d days old (rotate within %d)", [input.resource_name, input.config.user, days, max_days])
}
