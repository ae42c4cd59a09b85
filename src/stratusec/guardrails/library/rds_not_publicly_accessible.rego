# title: RDS instances are not publicly accessible
# severity: critical
# resource_types: [aws_db_instance]
# description: >
#   publicly_accessible is false: the database gets no public DNS name or address.
package stratusec.guardrails.rds_not_publicly_accessible

deny contains msg if {
	input.resource_type == "aws_db_instance"
	input.config.publicly_accessible == true
	msg := sprintf("%s: DB instance is publicly accessible", [input.resource_name])
}
