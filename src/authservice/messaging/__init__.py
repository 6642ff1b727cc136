"""Messages between the users of one application: the limits, conversations and their history,
each user's mailbox of numbered events, the read models the API shows, the fan-out that wakes the
message streams, and the use cases (MessagingService). It authenticates its callers with a
callable the composition root hands it, never with auth's use cases themselves."""
