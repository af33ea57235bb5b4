"""The HTTP service (`carbon serve`): the estimate API, collection of runs and batch results, and views.

Nothing here is imported by `import carbon` or by the other subcommands: the web framework and
the database toolkit load only when the service is used.

Modules: models (the schema, documented there), db (engine, sessions, migrations), settings,
auth (tokens, share links, principals), deps (FastAPI dependencies), app (create_app), errors
and limits (one-line errors, request limits), admin (organisations, projects, tokens),
estimate_api (public estimate routes), records (reading and checking what clients send),
ingest and ingest_api (storing it, with the rollups), read_api (projects, runs, totals).
"""
