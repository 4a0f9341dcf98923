"""Reading: a file's bytes become examples, each carrying the source rows it came from.

:func:`ingest.load_bytes` is the one entry point the CLI and the browser share: ``readers``
turns bytes into rows or records (CSV/TSV/XLSX/JSON/JSONL, with ``decoding``,
``legacy_encoding`` and ``csv_quirks`` for the files people really have, ``parquet_io`` for
Parquet); ``headers``, ``mapping`` and ``speakers`` decide which column or speaker label
plays which chat role; ``layouts`` recognises the known JSON layouts.  A file that cannot be
read raises :class:`~validators.errors.InputError` with a sentence to act on.
"""
