"""The published schema: `schema.graphql` and `web/possible-types.json` match what the API serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from strawberry.printer import print_schema

from core.settings import Settings
from schema.build import build_schema
from server.sdl import POSSIBLE_TYPES_PATH, ROOT, SDL_PATH, possible_types, schema_sdl, write_schema_files

REFRESH = "refresh it with `.venv/bin/briefing schema --write` and commit the result"


@pytest.mark.parametrize("env", ["dev", "production"])
def test_committed_sdl_is_the_served_schema(env: str) -> None:
    # given the schema the API builds (introspection on in dev, off in production: same SDL)
    served = print_schema(build_schema(Settings(env=env)))
    # then the committed file is exactly it
    assert SDL_PATH.read_text(encoding="utf-8") == f"{served}\n", f"schema.graphql is stale: {REFRESH}"


def test_briefing_schema_prints_the_committed_sdl() -> None:
    # when `briefing schema` runs / then it prints the committed file, byte for byte
    printed = subprocess.run(
        [sys.executable, "-m", "server.cli", "schema"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout
    assert printed == SDL_PATH.read_text(encoding="utf-8")


def test_committed_possible_types_match_the_committed_sdl() -> None:
    # given the committed possibleTypes / then it is what the SDL's unions and interfaces say
    committed = json.loads(POSSIBLE_TYPES_PATH.read_text(encoding="utf-8"))
    assert committed == possible_types(SDL_PATH.read_text(encoding="utf-8")), f"possible-types.json: {REFRESH}"
    # and the event union lists its four members, so Apollo keeps fragments on them
    assert committed["BriefingEvent"] == ["BriefingStarted", "Briefing", "BriefingEnded", "Alert"]


def test_possible_types_cover_unions_and_interfaces() -> None:
    sdl = """
        interface Node { id: ID! }
        type A implements Node { id: ID! }
        type B implements Node { id: ID! }
        type C { x: Int }
        union U = C | A
        type Query { n: Node, u: U }
    """
    assert possible_types(sdl) == {"Node": ["A", "B"], "U": ["C", "A"]}


def test_write_schema_files_writes_what_the_tests_compare(tmp_path: Path) -> None:
    # when `briefing schema --write` writes into a fresh tree / then it writes the committed bytes
    written = write_schema_files(Settings(), root=tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in written] == ["schema.graphql", "web/possible-types.json"]
    assert written[0].read_text(encoding="utf-8") == schema_sdl(Settings())
    assert written[0].read_bytes() == SDL_PATH.read_bytes()
    assert written[1].read_bytes() == POSSIBLE_TYPES_PATH.read_bytes()


def test_events_of_the_union_carry_ids_for_apollo() -> None:
    # issue 11 item 5: every member of BriefingEvent has an id, so Apollo can normalise (and merge) it
    sdl = SDL_PATH.read_text(encoding="utf-8")
    for name in ("BriefingStarted", "Briefing", "BriefingEnded"):
        block = sdl.split(f"type {name} {{", 1)[1].split("}", 1)[0]
        assert "  id: ID!" in block, name
