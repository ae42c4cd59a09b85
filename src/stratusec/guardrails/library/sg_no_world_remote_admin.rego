# title: No SSH or RDP from the internet
# severity: high
# resource_types: [aws_security_group, aws_security_group_rule, aws_vpc_security_group_ingress_rule]
# description: >
#   No ingress rule opens TCP 22 (SSH) or 3389 (RDP) to 0.0.0.0/0 or ::/0
#   (CIS AWS 5.2, 5.3). Rules open to every protocol are reported by
#   sg_no_world_all_traffic.
package stratusec.guardrails.sg_no_world_remote_admin

import data.stratusec.lib

ports := {22: "SSH", 3389: "RDP"}

# Ports open to the world through a TCP rule: a single-port rule is one lookup, a range
# is checked against each listed port.
exposed contains port if {
	some rule in lib.world_ingress
	rule.protocol in {"tcp", "6", 6}
	some port in covered(rule)
}

covered(rule) := {rule.from_port} if {
	rule.from_port == rule.to_port
	ports[rule.from_port]
}

covered(rule) := {port | some port in object.keys(ports); rule.from_port <= port; port <= rule.to_port} if {
	rule.from_port < rule.to_port
}

deny contains msg if {
	some port in exposed
	msg := sprintf("%s: %s (TCP %d) is open to the internet", [input.resource_name, ports[port], port])
}
