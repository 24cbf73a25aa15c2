"""The recycle bin: deleted records kept for a while with what went with them, then purged."""
