"""Build tools: what `make` runs to generate committed files (not part of the service or the local server)."""
