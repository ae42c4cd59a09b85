# title: RDS keeps automated backups for at least 7 days
# severity: medium
# resource_types: [aws_db_instance, aws_rds_cluster]
# description: >
#   backup_retention_period is at least 7 days (0 turns backups off). Read replicas
#   and Aurora cluster members take their backups from elsewhere and are not judged.
package stratusec.guardrails.rds_backup_retention

import data.stratusec.lib

minimum := 7

deny contains msg if {
	input.resource_type == "aws_db_instance"
	not lib.present(input.config.cluster_identifier)
	not lib.present(input.config.replicate_source_db)
	days := input.config.backup_retention_period
	is_number(days)
	days < minimum
	msg := sprintf("%s: automated backups are kept %d days (at least %d required)", [input.resource_name, days, minimum])
}

deny contains msg if {
	input.resource_type == "aws_rds_cluster"
	days := input.config.backup_retention_period
	is_number(days)
	days < minimum
	msg := sprintf("%s: automated backups are kept %d days (at least %d required)", [input.resource_name, days, minimum])
}
