"""The MCP face (official MCP SDK): tools, resources, prompts, governed per call."""
