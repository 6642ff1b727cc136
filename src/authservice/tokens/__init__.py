"""Access tokens for an application's own backend: signed JWTs (ES256) issued to a live session,
the keys that sign them and their JWKS, and introspection."""
