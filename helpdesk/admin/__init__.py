"""Administration: staff accounts, groups and the custom fields of cases."""
