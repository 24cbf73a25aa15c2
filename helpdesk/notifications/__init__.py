"""Follows and in-app notifications: who watches what, the notification center, the email digest."""
