"""The published schema: the SDL the API serves, and Apollo Client's `possibleTypes` derived from it.

Production turns introspection off, so frontend developers read the schema from `schema.graphql`
at the repository root, and Apollo Client reads `web/possible-types.json` (without it, fragments
on the `BriefingEvent` union silently lose their fields). `briefing schema` prints the SDL
(`--write` refreshes both files); tests fail when either differs from what the server serves.
"""

from __future__ import annotations

import json
from pathlib import Path

import graphql

from core.settings import Settings
from schema.build import build_schema

ROOT = Path(__file__).resolve().parent.parent
SDL_PATH = ROOT / "schema.graphql"
POSSIBLE_TYPES_PATH = ROOT / "web" / "possible-types.json"


def schema_sdl(settings: Settings) -> str:
    """The SDL of the schema the API serves (the same whatever the hardening settings), newline-terminated."""
    return f"{build_schema(settings).as_str().rstrip()}\n"


def possible_types(sdl: str) -> dict[str, list[str]]:
    """Apollo Client's `possibleTypes`: every union and interface, with its member types in schema order."""
    built = graphql.build_schema(sdl)
    found: dict[str, list[str]] = {}
    for name, named in sorted(built.type_map.items()):
        if name.startswith("__"):
            continue
        if isinstance(named, graphql.GraphQLUnionType):
            found[name] = [member.name for member in named.types]
        elif isinstance(named, graphql.GraphQLInterfaceType):
            found[name] = [member.name for member in built.get_implementations(named).objects]
    return found


def possible_types_json(sdl: str) -> str:
    """`possible_types` as the committed JSON file holds it (two-space indent, newline-terminated)."""
    return f"{json.dumps(possible_types(sdl), indent=2)}\n"


def write_schema_files(settings: Settings, *, root: Path = ROOT) -> list[Path]:
    """Write `schema.graphql` and `web/possible-types.json` under `root`; returns the paths written."""
    sdl = schema_sdl(settings)
    sdl_path = root / SDL_PATH.relative_to(ROOT)
    types_path = root / POSSIBLE_TYPES_PATH.relative_to(ROOT)
    sdl_path.write_text(sdl, encoding="utf-8")
    types_path.parent.mkdir(parents=True, exist_ok=True)
    types_path.write_text(possible_types_json(sdl), encoding="utf-8")
    return [sdl_path, types_path]
