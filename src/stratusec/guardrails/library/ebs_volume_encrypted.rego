# title: EBS volumes are encrypted
# severity: high
# resource_types: [aws_ebs_volume]
# description: >
#   encrypted is true on every EBS volume (in a plan: set it explicitly).
package stratusec.guardrails.ebs_volume_encrypted

deny contains msg if {
	input.resource_type == "aws_ebs_volume"
	not input.config.encrypted == true
	msg := sprintf("%s: EBS volume is not encrypted", [input.resource_name])
}
