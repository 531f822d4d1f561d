"""Litestar controllers, one per API resource."""
