"""Speech-to-text providers: one base class, one module per provider."""
