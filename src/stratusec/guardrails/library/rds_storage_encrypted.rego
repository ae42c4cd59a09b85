# title: RDS databases are encrypted at rest
# severity: high
# resource_types: [aws_db_instance, aws_rds_cluster]
# description: >
#   storage_encrypted is true on every DB instance and cluster. Aurora cluster members
#   are judged through their cluster.
package stratusec.guardrails.rds_storage_encrypted

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_db_instance"
	not lib.present(input.config.cluster_identifier)
	not input.config.storage_encrypted == true
	msg := sprintf("%s: DB instance storage is not encrypted", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_rds_cluster"
	not input.config.storage_encrypted == true
	msg := sprintf("%s: DB cluster storage is not encrypted", [input.resource_name])
}
