"""Text-to-speech providers: one base class, one module per provider."""
