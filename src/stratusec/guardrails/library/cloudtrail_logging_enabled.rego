# title: CloudTrail trails are logging
# severity: high
# resource_types: [aws_cloudtrail]
# description: >
#   enable_logging is not false: a stopped trail records nothing.
package stratusec.guardrails.cloudtrail_logging_enabled

deny contains msg if {
	input.resource_type == "aws_cloudtrail"
	input.config.enable_logging == false
	msg := sprintf("%s: trail is not logging", [input.resource_name])
}
