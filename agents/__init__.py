"""Trunkline's agent runtime: local speech-to-text, text-to-speech and LLM models."""
