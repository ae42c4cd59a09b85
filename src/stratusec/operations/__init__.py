"""The service layer: plain functions with typed inputs and outputs. Every face (CLI, MCP,
REST) calls these, through governance; none holds business logic of its own."""
