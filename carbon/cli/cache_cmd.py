"""`carbon cache info|clear`: the shared on-disk cache of live intensity values."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info", "clear"), help="show where the cache is and its size, or empty it")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    import json

    from carbon.cli import UsageError
    from carbon.config import ConfigError, load
    from carbon.intensity.cache import IntensityCache

    try:
        cache = IntensityCache(load().resolved_cache_dir())
    except ConfigError as error:
        raise UsageError(str(error)) from None
    if args.action == "clear":
        removed = cache.clear()
        info = {**cache.info(), "removed": removed}
    else:
        info = cache.info()
    cache.close()
    if args.format == "json":
        print(json.dumps(info, indent=2))
    elif args.action == "clear":
        print(f"removed {info['removed']} entries from {info['directory']}")
    else:
        print(f"directory  {info['directory']}\nentries    {info['entries']}\nsize       {info['size_bytes']} bytes")
    return 0
