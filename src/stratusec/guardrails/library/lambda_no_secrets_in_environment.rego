# title: Lambda environment variables hold no secrets
# severity: high
# resource_types: [aws_lambda_function]
# description: >
#   No environment variable is named like a secret (password, secret, token, API or
#   private key, credential): keep secrets in Secrets Manager or Parameter Store.
package stratusec.guardrails.lambda_no_secrets_in_environment

import data.stratusec.lib

# Collected functions carry the names only; planned functions the variables.
names contains name if some name in lib.as_array(input.config.environment_variable_names)

names contains name if some name in object.keys(lib.block(input.config.environment).variables)

secret_like(name) if regex.match(`password|passwd|secret|token|api_?key|private_?key|credential`, lower(name))

deny contains msg if {
	input.resource_type == "aws_lambda_function"
	some name in names
	secret_like(name)
	msg := sprintf("%s: environment variable %s looks like a secret", [input.resource_name, name])
}
