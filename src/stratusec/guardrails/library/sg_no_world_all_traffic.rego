# title: No security group rule lets the whole internet in
# severity: critical
# resource_types: [aws_security_group, aws_security_group_rule, aws_vpc_security_group_ingress_rule]
# description: >
#   No ingress rule open to 0.0.0.0/0 or ::/0 allows every protocol, or every TCP or
#   UDP port.
package stratusec.guardrails.sg_no_world_all_traffic

import data.stratusec.lib

wide(rule) if lib.all_traffic(rule)

wide(rule) if {
	rule.protocol in {"tcp", "udp", "6", "17"}
	rule.from_port <= 1
	rule.to_port >= 65535
}

deny contains msg if {
	some rule in lib.world_ingress
	wide(rule)
	msg := sprintf("%s: every port (protocol %v) is open to the internet", [input.resource_name, rule.protocol])
}
