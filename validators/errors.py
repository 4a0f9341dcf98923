"""The shared vocabulary of refusals: the error a person can act on, and the size limit.

Kept apart from the readers so that every stage (reading, exporting, the catalogue, the
export targets, the CLI) can import them at the top of its module without an import loop;
``validators.reading.readers`` re-exports both for older imports.
"""

from __future__ import annotations

MAX_FILE_BYTES = 512 * 1024 * 1024  # OpenAI's training-file limit; the upload limit matches it


class InputError(ValueError):
    """The file (or an option) cannot be used at all; the message says why and what to do."""
