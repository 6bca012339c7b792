"""Modal screens of the review app (help, pickers, prompts, export)."""
