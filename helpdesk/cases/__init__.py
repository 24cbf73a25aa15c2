"""Cases: the conversation with a customer about one problem, and its history."""
