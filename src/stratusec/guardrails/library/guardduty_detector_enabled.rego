# title: GuardDuty detectors are enabled
# severity: medium
# resource_types: [aws_guardduty_detector]
# description: >
#   A GuardDuty detector is not suspended (enable is not false).
package stratusec.guardrails.guardduty_detector_enabled

deny contains msg if {
	input.resource_type == "aws_guardduty_detector"
	input.config.enable == false
	msg := sprintf("%s: GuardDuty detector is suspended", [input.resource_name])
}
