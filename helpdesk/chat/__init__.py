"""Live chat: topics, sessions, messages, routing to agents and the agent console."""
