"""Operating a store: retention that runs by itself, backup and restore, export (docs/operations.md).

``policies`` names each kind of record that retention removes, the setting that bounds it and the
tables it touches, and every table it keeps on purpose; ``cleanup`` runs a pass (counts for a dry
run, else deletes in short batches under the project's cleanup lock) and reports on it; ``janitor``
runs that pass on its own in any store that stays open, at most every ``cleanup_interval``;
``backup`` writes and restores backup files; ``exchange`` is the export's backend-neutral form.
"""
