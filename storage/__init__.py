"""Storage: one SQLite database, typed SQL functions per feature, numbered migrations."""
