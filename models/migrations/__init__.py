"""Alembic migrations of Trunkline's tables."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent
