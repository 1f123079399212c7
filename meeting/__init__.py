"""The domain side of chibo: the meeting, its journal, its record, the HTTP API and auth."""

from meeting.inputs import bound_int_paths

bound_int_paths()  # before any route is made: every `{id:int}` in a path stays within the database's range
