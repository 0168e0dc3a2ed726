"""Faces of roost for other frameworks: each in its own subpackage, behind an optional extra."""
