# title: RDS databases are protected from deletion
# severity: medium
# resource_types: [aws_db_instance, aws_rds_cluster]
# description: >
#   deletion_protection is true on DB instances (not Aurora members: their cluster
#   carries it) and DB clusters.
package stratusec.guardrails.rds_deletion_protection

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_db_instance"
	not lib.present(input.config.cluster_identifier)
	not input.config.deletion_protection == true
	msg := sprintf("%s: DB instance deletion protection is off", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_rds_cluster"
	not input.config.deletion_protection == true
	msg := sprintf("%s: DB cluster deletion protection is off", [input.resource_name])
}
