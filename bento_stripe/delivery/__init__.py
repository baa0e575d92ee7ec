"""The delivery worker: drains the outbox per site, batched, rate limited and retried."""
