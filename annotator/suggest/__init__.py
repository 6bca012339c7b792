"""Suggestions the machine proposes (voices, impact events, tags) for a person to accept."""
