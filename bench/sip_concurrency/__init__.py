"""Concurrent-call benchmark of the SIP engine: an echo server process and a tone-checking load peer."""
