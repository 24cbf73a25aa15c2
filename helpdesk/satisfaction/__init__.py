"""Customer satisfaction: ratings of resolved cases and self-service deflection events."""
