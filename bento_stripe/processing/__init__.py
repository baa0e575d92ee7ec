"""Processing: routing recorded events, the one unit of work into the ledger, held people,
re-routes. The webhook package only receives and records; everything after is here."""
