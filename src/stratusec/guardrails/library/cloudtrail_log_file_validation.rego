# title: CloudTrail validates its log files
# severity: medium
# resource_types: [aws_cloudtrail]
# description: >
#   enable_log_file_validation is true, so that tampering with delivered logs can be
#   detected (CIS AWS 3.2).
package stratusec.guardrails.cloudtrail_log_file_validation

deny contains msg if {
	input.resource_type == "aws_cloudtrail"
	not input.config.enable_log_file_validation == true
	msg := sprintf("%s: log file validation is off", [input.resource_name])
}
