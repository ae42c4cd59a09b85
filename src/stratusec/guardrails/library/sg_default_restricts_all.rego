# title: Default security groups allow no traffic
# severity: medium
# resource_types: [aws_security_group, aws_default_security_group]
# description: >
#   The default security group of every VPC has no ingress and no egress rules, so
#   that nothing lands in it by accident with open access (CIS AWS 5.4).
package stratusec.guardrails.sg_default_restricts_all

import data.stratusec.lib

deny contains msg if {
	default_group
	rules := count(lib.as_array(input.config.ingress)) + count(lib.as_array(input.config.egress))
	rules > 0
	msg := sprintf("%s: default security group has %d rules (it should have none)", [input.resource_name, rules])
}

default_group if input.resource_type == "aws_default_security_group"

default_group if {
	input.resource_type == "aws_security_group"
	input.config.is_default == true
}
