"""Storing: the browser's workspaces (upload, options, current examples, undo history) in one
SQLite file; an edit made on an old version is refused (``workspace.StaleEdit``), and old
workspaces are removed after the retention period.
"""
