"""Running the app for years: retention, health, metrics, a person's data, searchable logs."""
