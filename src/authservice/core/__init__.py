"""Shared primitives that every other part of the service uses: the settings, the clock, random
identifiers and the server key, sealing, private files, the audit log, and the one tree of errors.
Nothing here imports any other part of the service."""
