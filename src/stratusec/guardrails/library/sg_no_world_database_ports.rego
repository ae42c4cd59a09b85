# title: No database ports open to the internet
# severity: high
# resource_types: [aws_security_group, aws_security_group_rule, aws_vpc_security_group_ingress_rule]
# description: >
#   No ingress rule opens a database or cache port (SQL Server, Oracle, MySQL,
#   PostgreSQL, Redshift, Redis, Elasticsearch, Memcached, MongoDB) to the world.
package stratusec.guardrails.sg_no_world_database_ports

import data.stratusec.lib

ports := {
	1433: "SQL Server",
	1521: "Oracle",
	3306: "MySQL",
	5432: "PostgreSQL",
	5439: "Redshift",
	6379: "Redis",
	9200: "Elasticsearch",
	11211: "Memcached",
	27017: "MongoDB",
}

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
