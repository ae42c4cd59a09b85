"""One module per service family; each function is registered with ``@fixer``."""
