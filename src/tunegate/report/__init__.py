"""Run records, the run history, the console view of a run's gate results, and the
HTML / Markdown reports and run comparisons built from records (``tunegate report``,
``tunegate compare``)."""
