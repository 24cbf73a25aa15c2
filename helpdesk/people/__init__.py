"""Organizations, contacts, staff users and groups."""
