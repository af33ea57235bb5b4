"""`carbon cache info|clear`: the shared on-disk cache of live intensity values."""

from __future__ import annotations

import argparse

HELP = "show or clear the shared cache of live intensity values"
EXAMPLES = """examples:
  carbon cache info
  carbon cache clear --format json"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=("info", "clear"), help="info: where the cache is and its size; clear: empty it"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default) or json for programs"
    )


def run(args: argparse.Namespace) -> int:
    from carbon.cli.output import print_json
    from carbon.config import load
    from carbon.intensity.cache import IntensityCache
    from carbon.units import figure

    cache = IntensityCache(load().resolved_cache_dir())
    if args.action == "clear":
        removed = cache.clear()
        info = {**cache.info(), "removed": removed}
    else:
        info = cache.info()
    cache.close()
    if args.format == "json":
        print_json(info)
    elif args.action == "clear":
        print(f"removed {info['removed']} entries from {info['directory']}")
    else:
        size_kib = info["size_bytes"] / 1024
        print(f"directory  {info['directory']}\nentries    {info['entries']}\nsize       {figure(size_kib)} KiB")
    return 0
