"""The ways mail comes in: files and maildirs, an SMTP/LMTP listener, IMAP polling (the HTTP endpoint is a view)."""
