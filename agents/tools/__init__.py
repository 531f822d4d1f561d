"""Tools an assistant may use during a call: one module per kind, one base class for all."""
