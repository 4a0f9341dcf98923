"""Exporting: the training files for each fine-tuning system, and the report of what was left out.

``export`` writes the examples and accounts for every source row (exported, or left out with
its reason); ``targets/`` knows each system's layouts, ``matrix`` tests a dataset against
all of them at once, ``next_steps`` writes the command that starts training on the file,
``report`` writes the validation report and the findings CSV, and ``csv_safe`` neutralises
spreadsheet formulas in every CSV the app writes.
"""
