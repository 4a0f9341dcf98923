"""Submitting: start a fine-tuning job on OpenAI, Azure OpenAI or Together AI and follow it to
its end.  ``submit`` and ``submit_together`` hold the API key in memory only and never write
it anywhere; ``cli_submit`` is ``python -m validators submit``.
"""
