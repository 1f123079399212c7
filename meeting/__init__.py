"""The domain side of chibo: the meeting, its journal, its record, the HTTP API and auth."""
