"""Benchmarks of the REST API and the CRM services (CSV import, contact list and search)."""
