# title: EBS encryption by default is on
# severity: medium
# resource_types: [aws_ebs_encryption_by_default]
# description: >
#   New EBS volumes in the region are encrypted by default (CIS AWS 2.2.1).
package stratusec.guardrails.ebs_encryption_by_default

deny contains msg if {
	input.resource_type == "aws_ebs_encryption_by_default"
	not input.config.enabled == true
	msg := sprintf("%s: EBS encryption by default is off", [input.resource_name])
}
