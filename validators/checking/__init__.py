"""Checking: every finding about the examples, from one check path, and the one-click fixes.

:func:`checks.run` runs them all: ``schema_check`` (the format), ``semantic`` (rules a
schema cannot express), ``mojibake`` (garbled text), ``pii`` (personal data and secrets, on
a second core through ``pii_worker`` for large data, ``sieve`` picking in one RE2 pass the
texts worth scanning), ``duplicates`` (exact and near, with ``minhash``). ``fixes`` returns
changed copies of the examples and never mutates them, so undo keeps the old list.  Token
limits and cost come from ``counting``.
"""
