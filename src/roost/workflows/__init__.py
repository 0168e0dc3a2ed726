"""Workflow runs: versioned workflow definitions (``store.workflows``) and their runs with phases,
gate decisions, evaluations and phase outputs (``store.runs``). See docs/workflows.md."""
