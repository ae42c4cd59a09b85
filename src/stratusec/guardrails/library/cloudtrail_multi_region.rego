# title: CloudTrail trails cover every region
# severity: high
# resource_types: [aws_cloudtrail]
# description: >
#   is_multi_region_trail is true, so that activity in a region nobody watches is
#   still recorded (CIS AWS 3.1).
package stratusec.guardrails.cloudtrail_multi_region

deny contains msg if {
	input.resource_type == "aws_cloudtrail"
	not input.config.is_multi_region_trail == true
	msg := sprintf("%s: trail records a single region (is_multi_region_trail is not true)", [input.resource_name])
}
