"""The Dockerfile, the Makefile and the app agree (no Docker needed: the files are read as text)."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()

Instruction = tuple[str, str]


def _instructions(text: str) -> list[Instruction]:
    """(KEYWORD, arguments) per instruction, with `\\` continuations joined and comments dropped."""
    result: list[Instruction] = []
    parts: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker also skips comment lines inside a continuation
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        keyword, _, args = " ".join(parts).partition(" ")
        result.append((keyword.upper(), args.strip()))
        parts = []
    assert not parts, "the Dockerfile ends inside a line continuation"
    return result


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for keyword, args in _instructions(DOCKERFILE):
        if keyword == "FROM":
            stages.append([])
        assert stages, f"{keyword} before the first FROM"
        stages[-1].append((keyword, args))
    return stages


def _final(keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction in the final (shipped) stage."""
    return [args for kw, args in _stages()[-1] if kw == keyword]


def _last(keyword: str) -> str:
    """The instruction that takes effect: Docker uses the last CMD, HEALTHCHECK or USER."""
    found = _final(keyword)
    assert found, f"the final stage has no {keyword}"
    return found[-1]


def _cmd() -> str:
    return _last("CMD")


def _healthcheck() -> str:
    return _last("HEALTHCHECK")


def _group(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in {text!r}"
    return match[1]


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*[:?]?=\s*(\S+)", MAKEFILE, re.MULTILINE)
    assert match, f"Makefile does not define {name}"
    return match.group(1)


def _make_recipe(target: str) -> str:
    match = re.search(rf"^{target}:.*\n((?:\t.*\n?)+)", MAKEFILE, re.MULTILINE)
    assert match, f"Makefile has no recipe for {target}"
    return match.group(1).replace("\\\n", " ")


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.MULTILINE))


def test_image_and_make_run_serve_the_same_asgi_app() -> None:
    entry = "app.main:app"
    assert f"uvicorn {entry} " in _cmd()
    assert f"uvicorn {entry} " in _make_recipe("run")
    module, _, attribute = entry.partition(":")
    assert isinstance(getattr(importlib.import_module(module), attribute), FastAPI)


def test_port_8000_is_exposed_served_and_probed() -> None:
    assert "8000" in " ".join(_final("EXPOSE")).split()
    assert re.search(r"--host 0\.0\.0\.0\b", _cmd()), "the container must listen beyond loopback"
    assert _group(r"--port (\d+)", _cmd()) == "8000"
    assert _group(r"http://[^/:]+:(\d+)/", _healthcheck()) == "8000"
    assert _make_variable("PORT") == "8000"


def test_healthcheck_probes_a_liveness_route_that_exists() -> None:
    check = _healthcheck()
    assert "--interval=" in check and "--timeout=" in check
    assert "curl" not in check and "wget" not in check, "the slim base image has neither"
    assert re.search(r"CMD \[\"python\"", check)
    path = _group(r"http://[^/]+(/[^'\"\s]*)", check)
    assert path == "/healthz"

    app = create_app(Settings(database_url="sqlite:///:memory:", secret_key="x" * 32))
    assert "get" in app.openapi()["paths"][path]


def test_migrations_are_a_separate_one_shot_step() -> None:
    assert "alembic upgrade head" in _make_recipe("migrate")
    assert "alembic" not in _cmd(), "migrations must not run on every container start"
    assert "alembic upgrade head" in DOCKERFILE, "the Dockerfile documents the migration step"
    copied = " ".join(_final("COPY")).split()
    assert "alembic" in copied and "alembic.ini" in copied, "the same image runs the migration"


def test_dockerfile_installs_the_makefiles_uv_version() -> None:
    build = " ".join(args for stage in _stages()[:-1] for kw, args in stage if kw in {"ARG", "RUN"})
    assert _group(r"\bUV_VERSION=(\S+)", build) == _make_variable("UV_VERSION")
    assert '"uv==${UV_VERSION}"' in build


def test_image_runs_as_a_non_root_user() -> None:
    user = _last("USER").split(":")[0]
    assert user not in {"root", "0"}


def test_final_stage_ships_no_tests_and_no_build_tools() -> None:
    for args in _final("COPY"):
        words = shlex.split(args)
        if any(w.startswith("--from=") for w in words):
            continue  # from the build stage: only the venv
        sources = [w for w in words if not w.startswith("--")][:-1]
        for source in sources:
            assert source.strip("./") not in {"", "tests"}, f"COPY {args} ships tests"
            assert not source.startswith("tests"), f"COPY {args} ships tests"
    final_runs = " ".join(_final("RUN"))
    assert "pip install" not in final_runs and "uv " not in final_runs
    assert "tests" in (ROOT / ".dockerignore").read_text().split()


def test_runtime_lock_is_the_tested_lock_without_dev_tools() -> None:
    lock = _make_recipe("lock")
    assert "-o requirements.lock" in lock and "-o requirements.runtime.lock" in lock
    build = " ".join(args for kw, args in _stages()[0] if kw in {"COPY", "RUN"})
    assert "--require-hashes" in build and "requirements.runtime.lock" in build

    full, runtime = _pins("requirements.lock"), _pins("requirements.runtime.lock")
    # The image must run the versions the test suite ran against.
    drifted = {
        name: (pin, full.get(name)) for name, pin in runtime.items() if full.get(name) != pin
    }
    assert drifted == {}
    assert not {"pytest", "pytest-asyncio", "hypothesis", "ruff", "mypy"} & runtime.keys()
