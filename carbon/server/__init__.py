"""The HTTP service (`carbon serve`): the estimate API, collection of runs and batch results, and views.

Nothing here is imported by `import carbon` or by the other subcommands: the web framework and
the database toolkit load only when the service (or an upload client) is used.

Modules: models (the schema, documented there), db (engine, sessions, migrations), settings,
auth (tokens, share links, principals), deps (FastAPI dependencies), app (create_app).
"""
