"""Accounts and sessions: the rules for usernames and passwords, password hashing, users,
applications, device labels, device-bound proofs, sessions, tickets, the session a request
presents, and the use cases (AuthService). Imports nothing of messaging."""
