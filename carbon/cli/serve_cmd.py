"""`carbon serve`: the estimation service (estimate API, collection of runs and batch results).

    carbon serve                                   SQLite in the user's data folder, 127.0.0.1:8000
    carbon serve --database-url postgresql://u:p@db/carbon --workers 4 --host 0.0.0.0
    carbon serve --migrate-only                    bring the database to the current schema and exit
    carbon serve admin create-org ORG | create-project ORG PROJECT | create-token ORG [--project P]
                       | revoke-token ID | create-share ORG PROJECT | revoke-share ID | list [ORG]

Migrations run in this process before the workers start, so several workers never race to
migrate. Several workers need PostgreSQL (SQLite allows one writer at a time); put them behind
a reverse proxy for TLS. The web framework loads only here, never for the other subcommands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HELP = "the estimation service: estimate API, team collection of runs and batch results, dashboard"
EXAMPLES = """examples:
  carbon serve                                       # SQLite in your data folder, http://127.0.0.1:8000
  carbon serve admin create-org acme && carbon serve admin create-project acme climate
  carbon serve admin create-token acme --project climate
  carbon serve --database-url postgresql://carbon@db/carbon --workers 4 --host 0.0.0.0"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL, e.g. postgresql://user:pass@host/db (default: CARBON_DATABASE_URL, "
        "else SQLite in the user's data folder)",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (more than 1 needs PostgreSQL)")
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off by default: a reverse proxy logs them)"
    )
    parser.add_argument("--migrate-only", action="store_true", help="migrate the database to the current schema, exit")
    actions = parser.add_subparsers(dest="serve_action", metavar="[admin ...]")
    admin = actions.add_parser(
        "admin",
        help="organisations, projects, tokens and share links",
        description="organisations, projects, tokens and share links",
        epilog="examples:\n  carbon serve admin create-org acme\n  carbon serve admin list acme",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    admin_actions = admin.add_subparsers(dest="admin_action", metavar="ACTION")
    admin_actions.required = True
    for name, help_text, example, arguments in _ADMIN_ACTIONS:
        action = admin_actions.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  carbon serve admin {name} {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for flags, options in arguments:
            action.add_argument(*flags, **options)


_ORG = (("org",), {"help": "organisation slug, e.g. acme"})
_PROJECT = (("project",), {"help": "project slug, e.g. climate"})
_ID = (("id",), {"type": int, "help": "the id that `carbon serve admin list` shows"})
_NAME = (("--name",), {"help": "display name (default: the slug)"})
# (action, help, example arguments, its arguments as (flags, add_argument options))
_ADMIN_ACTIONS: tuple[tuple[str, str, str, tuple[tuple[tuple[str, ...], dict], ...]], ...] = (
    ("create-org", "create an organisation", "acme --name 'Acme Research'", (_ORG, _NAME)),
    ("create-project", "create a project in an organisation", "acme climate", (_ORG, _PROJECT, _NAME)),
    (
        "create-token",
        "create an API token (printed once): per project, or admin for an organisation",
        "acme --project climate --scopes ingest,read",
        (
            _ORG,
            (("--project",), {"help": "the project the token reaches (omit for an organisation admin token)"}),
            (("--scopes",), {"help": "ingest,read (project, the default) or admin (organisation)"}),
            (("--name",), {"default": "", "help": "a note to tell tokens apart"}),
        ),
    ),
    ("revoke-token", "revoke a token by its id (see list)", "3", (_ID,)),
    ("create-share", "create a read-only share link to a project", "acme climate", (_ORG, _PROJECT)),
    ("revoke-share", "revoke a share link by its id", "2", (_ID,)),
    (
        "list",
        "organisations, projects, tokens (prefixes) and share links",
        "acme --format json",
        (
            (("org",), {"nargs": "?", "help": "only this organisation, e.g. acme"}),
            (
                ("--format",),
                {"choices": ("text", "json"), "default": "text", "help": "text for people or json for programs"},
            ),
        ),
    ),
)


def _imports():
    from carbon.cli import UsageError

    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("carbon serve needs the server extra: pip install 'carbon-ledger[server]'") from None


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError

    _imports()
    from carbon.server.db import default_database_url, is_sqlite, make_engine, migrate, normalise_url

    url = normalise_url(args.database_url or os.environ.get("CARBON_DATABASE_URL") or default_database_url())
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.workers > 1 and is_sqlite(url):
        raise UsageError("--workers above 1 needs PostgreSQL (--database-url postgresql://...); SQLite has one writer")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    try:
        engine = make_engine(url)
        migrate(engine)
    except Exception as error:  # sqlalchemy.exc.SQLAlchemyError, OSError: the database cannot be reached
        raise UsageError(f"cannot open the database {_shown(url)}: {_first_line(error)}") from None
    if args.serve_action == "admin":
        return _admin(args, engine)
    if args.migrate_only:
        from carbon.server.db import current_revision

        print(f"database {_shown(url)} is at schema revision {current_revision(engine)}")
        return 0
    engine.dispose()
    import uvicorn

    os.environ["CARBON_DATABASE_URL"] = url
    print(f"carbon serve: database {_shown(url)}; http://{args.host}:{args.port} (API docs at /docs)", flush=True)
    uvicorn.run(
        "carbon.server.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
        proxy_headers=True,
    )
    return 0


def _shown(url: str) -> str:
    """The URL with its password masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _admin(args: argparse.Namespace, engine) -> int:
    from carbon.cli import UsageError
    from carbon.server import admin
    from carbon.server.db import session_factory, transaction

    action = args.admin_action
    try:
        with transaction(session_factory(engine)) as session:
            if action == "create-org":
                org = admin.create_org(session, args.org, args.name)
                print(f"organisation {org.slug} created")
            elif action == "create-project":
                project = admin.create_project(session, args.org, args.project, args.name)
                print(f"project {args.org}/{project.slug} created")
            elif action == "create-token":
                made = admin.create_token(session, args.org, args.project, args.scopes, args.name)
                print(made.secret)
                target = f"project {args.org}/{args.project}" if args.project else f"organisation {args.org}"
                print(f"token {made.id} for {target}: shown once, store it now", file=sys.stderr)
            elif action == "revoke-token":
                admin.revoke_token(session, args.id)
                print(f"token {args.id} revoked")
            elif action == "create-share":
                made = admin.create_share(session, args.org, args.project)
                print(made.secret)
                print(
                    f"share link {made.id} for project {args.org}/{args.project}: read-only, shown once; "
                    f"its pages at /share/{made.secret} and its totals as JSON at /v1/share/{made.secret}",
                    file=sys.stderr,
                )
            elif action == "revoke-share":
                admin.revoke_share(session, args.id)
                print(f"share link {args.id} revoked")
            elif action == "list":
                rows = admin.listing(session, args.org)
                if args.format == "json":
                    print(json.dumps(rows, indent=2))
                else:
                    _print_listing(rows)
    except admin.AdminError as error:
        raise UsageError(str(error)) from None
    return 0


def _print_listing(rows: list[dict]) -> None:
    for org in rows:
        print(f"{org['organisation']}  ({org['name']})")
        for project in org["projects"]:
            print(f"  project {project}")
        for token in org["tokens"]:
            state = "revoked" if token["revoked"] else "active"
            print(
                f"  token {token['id']}  {token['prefix']}...  {token['project'] or '(organisation)'}  "
                f"{token['scopes']}  {state}  {token['name']}".rstrip()
            )
        for link in org["share_links"]:
            state = "revoked" if link["revoked"] else "active"
            print(f"  share {link['id']}  {link['prefix']}...  {link['project']}  {state}")
