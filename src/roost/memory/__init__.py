"""What an agent team remembers: sessions, transcripts, memories, observations and artifacts.

One module per kind, each reached from the store (``store.sessions``, ``store.transcripts``,
``store.memories``, ``store.observations``, ``store.artifacts``) and attached on first use, so a
process that appends to a transcript imports nothing of artifacts. Guarantees: docs/memory.md.
"""
