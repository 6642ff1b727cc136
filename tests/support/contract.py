"""What docs/api.md promises, once, for the service's and the client's tests."""

SESSION_FIELDS = frozenset(
    {
        "version",
        "applicationKey",
        "userId",
        "sessionId",
        "sessionSecret",
        "createdAt",
        "expiresAt",
        "idleExpiresAt",
    }
)
