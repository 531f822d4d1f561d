"""Trunkline's REST API, CLI and the composition root that starts a node."""
