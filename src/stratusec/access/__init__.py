"""Just-in-time access for agents: scoped, short-lived, proven grants."""
