"""Accounts: users and their passwords, server-side sessions, invites, sign-in and sign-up.

Nothing here knows about HTTP; the web handlers call `Accounts` (service.py).
"""
