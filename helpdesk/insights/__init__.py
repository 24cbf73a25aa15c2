"""Manager insights: help desk, SLA, chat and self-service dashboards over incrementally kept facts."""
