"""Documents: typed, versioned document collections with frozen fields, atomic patches, history,
queries on indexed paths, parents with cascades, and links (``store.documents``).

The modules, one job each: ``paths`` (the path form), ``patches`` (patch operations), ``schemas``
(validation), ``keys`` (index keys and ``where``), ``collections`` (declarations), ``records``
(put, patch, get, delete), ``queries``, ``history`` (versions, diff), ``links``, ``render``
(Markdown), ``importer`` (feature lists) and ``area`` (the ``store.documents`` face). The
guarantees are in docs/documents.md.
"""
