"""Outbound webhooks: event envelopes, signing, and the durable delivery worker."""
