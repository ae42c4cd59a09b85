# Helpers for guardrail policies, compiled with every policy. Use them with
#
#     import data.stratusec.lib
#
# They smooth over the two shapes one attribute can take: a Terraform plan
# (`terraform show -json`) gives nested blocks as a list of one object and IAM
# documents as JSON strings; Stratusec's collectors give the object and the
# parsed document.
package stratusec.lib

# A nested block as an object: [{...}] (plan) or {...} (collector).
block(x) := x[0] if {
	is_array(x)
	count(x) > 0
	is_object(x[0])
}

block(x) := x if is_object(x)

# A JSON document as a value: a JSON string (plan) or the value itself (collector).
document(x) := json.unmarshal(x) if is_string(x)

document(x) := x if is_object(x)

document(x) := x if is_array(x)

# The statements of a policy document (one statement object, or a list of them).
statements(doc) := doc.Statement if is_array(doc.Statement)

statements(doc) := [doc.Statement] if is_object(doc.Statement)

# A value as an array: "s3:*" -> ["s3:*"], null -> [].
as_array(x) := x if is_array(x)

as_array(x) := [] if x == null

as_array(x) := [x] if {
	not is_array(x)
	x != null
}

# Is a value set (not null, "", [] or {})? Undefined (an absent attribute) is not.
present(x) if {
	x != null
	x != ""
	x != []
	x != {}
}

# A statement's Sid, or "(no Sid)". (Use this rather than object.get with a default:
# rego-cpp renders a default string from object.get with quotes inside sprintf.)
sid(stmt) := stmt.Sid if is_string(stmt.Sid)

sid(stmt) := "(no Sid)" if not is_string(stmt.Sid)

# A principal that means everyone: "*", {"AWS": "*"} or a list holding "*".
public_principal(p) if p == "*"

public_principal(p) if {
	is_object(p)
	"*" in as_array(p.AWS)
}

# An Allow statement that grants everyone access, with no condition to narrow it.
public_allow(stmt) if {
	stmt.Effect == "Allow"
	public_principal(stmt.Principal)
	not present(stmt.Condition)
}

# Does a statement allow every action on every resource?
admin_statement(stmt) if {
	stmt.Effect == "Allow"
	"*" in as_array(stmt.Action)
	"*" in as_array(stmt.Resource)
}

# The world, as a CIDR.
world_cidr(c) if c in {"0.0.0.0/0", "::/0"}

# The ingress rules of a resource, in the Terraform aws_security_group shape
# ({protocol, from_port, to_port, cidr_blocks, ipv6_cidr_blocks}), for
# aws_security_group, aws_security_group_rule (type "ingress") and
# aws_vpc_security_group_ingress_rule.
ingress_rules(rtype, config) := rules if {
	rtype == "aws_security_group"
	rules := as_array(config.ingress)
}

ingress_rules(rtype, config) := [config] if {
	rtype == "aws_security_group_rule"
	config.type == "ingress"
}

ingress_rules(rtype, config) := [rule] if {
	rtype == "aws_vpc_security_group_ingress_rule"
	rule := {
		"protocol": config.ip_protocol,
		"from_port": object.get(config, "from_port", -1),
		"to_port": object.get(config, "to_port", -1),
		"cidr_blocks": as_array(object.get(config, "cidr_ipv4", null)),
		"ipv6_cidr_blocks": as_array(object.get(config, "cidr_ipv6", null)),
	}
}

# The resource's ingress rules (computed once per resource, whichever policies ask).
ingress contains rule if {
	some rule in ingress_rules(input.resource_type, input.config)
}

# The resource's ingress rules open to the world.
world_ingress contains rule if {
	some rule in ingress
	world_open(rule)
}

# Is an ingress rule open to the world (IPv4 or IPv6)?
world_open(rule) if {
	some c in as_array(object.get(rule, "cidr_blocks", []))
	world_cidr(c)
}

world_open(rule) if {
	some c in as_array(object.get(rule, "ipv6_cidr_blocks", []))
	world_cidr(c)
}

# Does an ingress rule let in every protocol?
all_traffic(rule) if rule.protocol in {"-1", "all", -1}

# Does an ingress rule reach TCP `port`?
covers_port(rule, port) if all_traffic(rule)

covers_port(rule, port) if {
	rule.protocol in {"tcp", "6", 6}
	rule.from_port <= port
	port <= rule.to_port
}

# Is the resource tagged for production? (environment or env = production or prod,
# keys and values compared case-insensitively)
production(tags) if {
	some k, v in tags
	lower(k) in {"environment", "env"}
	lower(v) in {"production", "prod"}
}
