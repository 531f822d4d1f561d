"""Language-model providers: one base class, one module per provider."""
