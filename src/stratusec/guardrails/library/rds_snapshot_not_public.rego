# title: RDS snapshots are not public
# severity: critical
# resource_types: [aws_db_snapshot, aws_db_cluster_snapshot]
# description: >
#   A DB or cluster snapshot is not shared with "all" (every AWS account can restore it).
package stratusec.guardrails.rds_snapshot_not_public

import data.stratusec.lib

deny contains msg if {
	input.resource_type in {"aws_db_snapshot", "aws_db_cluster_snapshot"}
	input.config.public == true
	msg := sprintf("%s: snapshot is public", [input.resource_name])
}

deny contains msg if {
	input.resource_type in {"aws_db_snapshot", "aws_db_cluster_snapshot"}
	not input.config.public == true
	"all" in lib.as_array(input.config.shared_accounts)
	msg := sprintf("%s: snapshot is shared with all AWS accounts", [input.resource_name])
}
