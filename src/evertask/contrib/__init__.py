"""Integrations with frameworks evertask's users already run: each needs its framework installed (an extra)."""
