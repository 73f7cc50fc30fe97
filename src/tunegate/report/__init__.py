"""Run records, and the console view of a run's gate results."""
