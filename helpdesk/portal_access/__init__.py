"""Customer portal access for contacts: invitations, passwords, sign-up, throttled sign-in."""
