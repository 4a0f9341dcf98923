"""Streaming: the same checks and export for files larger than memory.

``stream`` checks a JSONL or Parquet file chunk by chunk with on-disk indexes
(``stream_index``), ``stream_csv`` reads a large CSV or TSV in blocks with the whole-file
reader's answers, ``stream_export`` writes the export in a second pass, line by line,
``engine_ray`` runs the check on a Ray cluster, and ``cli_scale`` is the CLI's large-file
face.
"""
