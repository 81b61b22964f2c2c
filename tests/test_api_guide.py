"""docs/api.md runs: every example in the client guide, in order, against a real server.

The guide marks its examples with HTML comments, which GitHub does not render:

    <!-- run: name -->        the fenced block below it (```sh or ```python) is run
    <!-- expect: name -->     the fenced block below it is what the run of `name` printed
    <!-- not run: reason -->  the fenced ```sh/```python block below it is deliberately not run

Every ```sh and ```python block must carry one of `run` or `not run`, so an example cannot
slip out of the test. Examples share state the way a reader's terminal would:

- ```sh blocks run in bash (`set -euo pipefail`) with `$RAPPORT` set to the server's base URL,
  in one scratch folder; the upper-case shell variables a block assigns (TOKEN, CONTACT_ID,
  ETAG, …) are carried to later blocks.
- ```python blocks are exec'd in one shared namespace (`client`, `contact_id`, … carry over),
  with `RAPPORT` in the environment; their `assert`s are part of the example.

An `expect` block is compared with what the example printed:

- An HTTP response (`curl -i`): the status code must be the same; each header shown must be
  there (names case-insensitive); the body is compared as below.
- JSON: objects must have exactly the keys shown, or at least them when the object holds a
  bare `…`; a list holding a bare `…` may have more items after those shown. The string `"…"`
  matches any value; `…` inside a longer string matches any characters.
- Anything else, line by line: `…` inside a line matches any characters, a line of only `…`
  any number of lines.

curl: the real one when it is installed. When it is not (CI images such as python:*-slim have
none, and nothing in the project installs system packages but PostgreSQL), the shell blocks
run with `CURL_SHIM` below on PATH as `curl`: a standard-library program that implements the
few curl options the guide uses and refuses any other, so the examples still run, and still
fail when they go stale. RAPPORT_GUIDE_CURL=shim forces the shim (to test it);
RAPPORT_GUIDE_CURL=curl requires the real one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "api.md"
ELLIPSIS = "…"
MORE = "\x00more"  # stands for a bare `…` inside expected JSON

# ---------------------------------------------------------------------------------------------
# Reading the guide


@dataclass
class Example:
    name: str
    language: str  # "sh" or "python"
    code: str
    line: int  # where the code starts in docs/api.md (1-based)
    expect: str | None = None
    expect_line: int = 0


_MARKER = re.compile(r"^<!--\s*(run|expect|not run):\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")


def _blocks(text_: str) -> list[tuple[str | None, str, str, int]]:
    """(marker line or None, language, code, first code line) for every fenced block."""
    lines = text_.splitlines()
    out: list[tuple[str | None, str, str, int]] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match[1], match[2]
        marker = None
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and _MARKER.match(lines[j].strip()):
            marker = lines[j].strip()
        end = i + 1
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        assert end < len(lines), f"docs/api.md:{i + 1}: unclosed code fence"
        out.append((marker, language, "\n".join(lines[i + 1 : end]), i + 2))
        i = end + 1
    return out


def read_guide() -> list[Example]:
    examples: list[Example] = []
    names: set[str] = set()
    for marker, language, code, line in _blocks(GUIDE.read_text(encoding="utf-8")):
        if marker is None:
            assert language not in {"sh", "bash", "shell", "console", "python", "py"}, (
                f"docs/api.md:{line - 1}: a {language} block without `<!-- run: name -->` or "
                "`<!-- not run: reason -->`: every example is either tested or says why not"
            )
            continue
        m = _MARKER.match(marker)
        assert m is not None
        kind, arg = m[1], m[2]
        if kind == "not run":
            assert arg, f"docs/api.md:{line - 2}: `not run` needs a reason"
            continue
        if kind == "run":
            assert language in {"sh", "python"}, f"docs/api.md:{line}: run blocks are sh or python"
            assert arg not in names, f"docs/api.md:{line}: two examples are named {arg!r}"
            names.add(arg)
            examples.append(Example(arg, language, code, line))
            continue
        assert examples and examples[-1].name == arg, (
            f"docs/api.md:{line - 2}: `expect: {arg}` must follow the `run: {arg}` block"
        )
        assert examples[-1].expect is None, f"docs/api.md:{line}: two expect blocks for {arg}"
        examples[-1].expect, examples[-1].expect_line = code, line
    return examples


# ---------------------------------------------------------------------------------------------
# Comparing what an example printed with what the guide shows


def _glob(pattern: str, actual: str) -> bool:
    parts = [re.escape(p) for p in pattern.split(ELLIPSIS)]
    return re.fullmatch(".*?".join(parts), actual, flags=re.DOTALL) is not None


def _json_with_ellipsis(source: str) -> Any:
    """Parse JSON in which a bare `…` (outside strings) means "and more"."""
    out: list[str] = []
    stack: list[str] = []
    in_string = escaped = False
    for ch in source:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}":
            stack.pop()
        elif ch == ELLIPSIS:
            more = json.dumps(MORE)
            out.append(f"{more}: null" if stack and stack[-1] == "{" else more)
            continue
        out.append(ch)
    return json.loads("".join(out))


def _match_json(expected: Any, actual: Any, path: str = "$") -> list[str]:
    if expected == ELLIPSIS:
        return []
    if isinstance(expected, str) and ELLIPSIS in expected:
        ok = isinstance(actual, str) and _glob(expected, actual)
        return [] if ok else [f"{path}: {actual!r} does not match {expected!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        open_ended = MORE in expected
        keys = set(expected) - {MORE}
        errors = [f"{path}: no field {k!r}" for k in sorted(keys - set(actual))]
        if not open_ended:
            errors += [f"{path}: unexpected field {k!r}" for k in sorted(set(actual) - keys)]
        for k in sorted(keys & set(actual)):
            errors += _match_json(expected[k], actual[k], f"{path}.{k}")
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        open_ended = MORE in expected
        items = [e for e in expected if e != MORE]
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return [f"{path}: {len(actual)} items, the guide shows {len(items)}"]
        errors = []
        for n, e in enumerate(items):
            errors += _match_json(e, actual[n], f"{path}[{n}]")
        return errors
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: {actual!r}, the guide shows {expected!r}"]
    return []


def _match_lines(expected: str, actual: str) -> list[str]:
    want = expected.strip("\n").splitlines()
    got = actual.strip("\n").splitlines()

    def walk(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i].strip() == ELLIPSIS:
            return any(walk(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and _glob(want[i].rstrip(), got[j].rstrip()) and walk(i + 1, j + 1)

    return [] if walk(0, 0) else ["the output differs from the guide"]


def _match_body(expected: str, actual: str) -> list[str]:
    if not expected.strip():
        return [] if not actual.strip() else ["a body came, the guide shows none"]
    try:
        want = _json_with_ellipsis(expected)
    except json.JSONDecodeError:
        return _match_lines(expected, actual)
    try:
        got = json.loads(actual)
    except json.JSONDecodeError:
        return ["the guide shows JSON, the output is not JSON"]
    return _match_json(want, got)


def _split_http(message: str) -> tuple[str, list[tuple[str, str]], str]:
    head, _, body = message.partition("\n\n")
    status, *header_lines = head.splitlines()
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return status, headers, body


def compare(expected: str, actual: str) -> list[str]:
    actual = actual.replace("\r\n", "\n")
    if not expected.startswith("HTTP/"):
        return _match_body(expected, actual)
    if not actual.startswith("HTTP/"):
        return ["the guide shows an HTTP response, the output is not one"]
    want_status, want_headers, want_body = _split_http(expected)
    got_status, got_headers, got_body = _split_http(actual)
    errors = []
    if want_status.split()[1] != got_status.split()[1]:
        errors.append(f"status {got_status.split()[1]}, the guide shows {want_status.split()[1]}")
    for name, value in want_headers:
        if not any(n == name and _glob(value, v) for n, v in got_headers):
            errors.append(f"no header `{name}: {value}`")
    return errors + _match_body(want_body, got_body)


# ---------------------------------------------------------------------------------------------
# curl, or a stand-in when it is not installed

CURL_SHIM = r"""
# The curl options docs/api.md uses, on the standard library: for machines without curl.
import mimetypes, os, sys, urllib.error, urllib.parse, urllib.request, uuid

NO_VALUE = {"-s", "--silent", "-S", "--show-error", "-i", "--include", "-G", "--get"}
VALUE = {"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
         "--data-urlencode", "-F", "--form", "-o", "--output", "-w", "--write-out"}


def refuse(message):
    print(f"curl (test shim): {message}", file=sys.stderr)
    sys.exit(2)


args, url, opts, i = sys.argv[1:], None, [], 0
while i < len(args):
    a = args[i]
    if a in NO_VALUE:
        opts.append((a, None))
    elif a in VALUE:
        if i + 1 == len(args):
            refuse(f"{a} needs a value")
        opts.append((a, args[i + 1]))
        i += 1
    elif len(a) > 2 and a[0] == "-" and a[1] != "-" and all(f"-{c}" in NO_VALUE for c in a[1:]):
        opts += [(f"-{c}", None) for c in a[1:]]
    elif a.startswith("-"):
        refuse(f"unknown option {a}: use options the shim knows, or teach it this one")
    elif url is not None:
        refuse("one URL only")
    else:
        url = a
    i += 1
if url is None:
    refuse("no URL")

method, headers, data, parts, out, write_out = None, {}, [], [], None, None
include = get = False
for name, value in opts:
    if name in {"-X", "--request"}:
        method = value
    elif name in {"-H", "--header"}:
        key, _, val = value.partition(":")
        headers[key.strip()] = val.strip()
    elif name in {"-d", "--data", "--data-raw", "--data-binary"}:
        if value.startswith("@") and name != "--data-raw":
            with open(value[1:], "rb") as f:
                raw = f.read()
            if name != "--data-binary":
                raw = raw.replace(b"\r", b"").replace(b"\n", b"")
            value = raw.decode()
        data.append(value)
    elif name == "--data-urlencode":
        key, eq, val = value.partition("=")
        quoted = urllib.parse.quote(val if eq else key, safe="")
        data.append(f"{key}={quoted}" if eq else quoted)
    elif name in {"-F", "--form"}:
        key, _, val = value.partition("=")
        if val.startswith("@"):
            kind = mimetypes.guess_type(val[1:])[0] or "application/octet-stream"
            with open(val[1:], "rb") as f:
                parts.append((key, os.path.basename(val[1:]), kind, f.read()))
        else:
            parts.append((key, None, None, val.encode()))
    elif name in {"-o", "--output"}:
        out = value
    elif name in {"-w", "--write-out"}:
        if "%" in value.replace("%{http_code}", ""):
            refuse(f"-w {value!r}: the shim knows only %{{http_code}}")
        write_out = value
    elif name in {"-i", "--include"}:
        include = True
    elif name in {"-G", "--get"}:
        get = True

body = "&".join(data).encode() if data else None
if get and body is not None:
    url += ("&" if "?" in url else "?") + body.decode()
    body = None
names = {k.lower() for k in headers}
if parts:
    boundary = uuid.uuid4().hex
    chunks = []
    for key, filename, kind, content in parts:
        disposition = f'form-data; name="{key}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if kind is not None:
            head += f"Content-Type: {kind}\r\n"
        chunks.append(head.encode() + b"\r\n" + content + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
elif body is not None and "content-type" not in names:
    headers["Content-Type"] = "application/x-www-form-urlencoded"
if method is None:
    method = "POST" if body is not None else "GET"
request = urllib.request.Request(url, data=body, headers=headers, method=method)
try:
    response = urllib.request.urlopen(request, timeout=30)
except urllib.error.HTTPError as error:
    response = error
except OSError as exc:
    refuse(f"could not connect: {exc}")
content = response.read()
text = b""
if include:
    head = [f"HTTP/1.1 {response.status} {response.reason}"]
    head += [f"{k}: {v}" for k, v in response.headers.items()]
    text = ("\r\n".join(head) + "\r\n\r\n").encode()
if out is not None:
    with open(out, "wb") as f:
        f.write(content)
    sys.stdout.buffer.write(text)
else:
    sys.stdout.buffer.write(text + content)
sys.stdout.flush()
if write_out is not None:
    code = str(response.status)
    sys.stdout.write(write_out.replace("%{http_code}", code).replace("\\n", "\n"))
"""


def _curl_dir(tmp: Path) -> tuple[Path | None, str]:
    """A folder to put first on PATH (None: the real curl), and which curl runs the guide."""
    choice = os.environ.get("RAPPORT_GUIDE_CURL", "")
    if choice != "shim" and shutil.which("curl"):
        return None, "curl"
    if choice == "curl":
        pytest.fail("RAPPORT_GUIDE_CURL=curl but curl is not installed")
    folder = tmp / "shim"
    folder.mkdir()
    shim = folder / "curl"
    shim.write_text(f"#!{sys.executable}\n{CURL_SHIM}")
    shim.chmod(0o755)
    return folder, "the test's curl shim (curl is not installed)"


# ---------------------------------------------------------------------------------------------
# Running the examples


def _shell_state(examples: list[Example]) -> str:
    """The command that saves what the guide's shell blocks define: upper-case variables and
    functions (`field`)."""
    variables: set[str] = set()
    functions: set[str] = set()
    for ex in examples:
        if ex.language == "sh":
            variables |= set(re.findall(r"(?m)^\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=", ex.code))
            functions |= set(re.findall(r"(?m)^\s*([a-z_][a-z0-9_]*)\s*\(\)\s*\{", ex.code))
    saved = []
    if variables - {"RAPPORT"}:
        saved.append(f"declare -p {' '.join(sorted(variables - {'RAPPORT'}))} 2>/dev/null || true")
    if functions:
        saved.append(f"declare -f {' '.join(sorted(functions))} 2>/dev/null || true")
    return "{ " + "; ".join([*saved, "true"]) + "; }"


def run_shell(ex: Example, env: dict[str, str], cwd: Path, state: Path, save: str) -> str:
    script = "\n".join(["set -euo pipefail", f'source "{state}"', ex.code, f'{save} > "{state}"'])
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (
        f"docs/api.md:{ex.line} ({ex.name}) exited with {done.returncode}\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done.stdout


def run_python(ex: Example, namespace: dict[str, Any]) -> str:
    code = compile(ex.code, f"docs/api.md:{ex.line} ({ex.name})", "exec")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, namespace)
    return printed.getvalue()


@pytest.fixture
async def empty_database(app: FastAPI) -> AsyncIterator[None]:
    """The guide starts on an empty server, as a reader's would (ada@example.com is free).

    Other tests on a live server leave their rows behind; `app` also cleans up afterwards."""
    async with app.state.runtime.db.writer.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await conn.execute(text(f"DELETE FROM {table.name}"))
    yield


def test_the_guide_marks_every_example() -> None:
    examples = read_guide()
    assert {ex.language for ex in examples} == {"sh", "python"}
    assert len(examples) >= 20


def test_the_comparison_catches_a_renamed_field_and_a_changed_status() -> None:
    shown = 'HTTP/1.1 201 Created\netag: "1"\n\n{"id": "…", "full_name": "Grace", …}'
    good = 'HTTP/1.1 201 Created\r\netag: "1"\r\n\r\n{"id": "x", "full_name": "Grace", "v": 1}'
    assert compare(shown, good) == []
    assert compare(shown, good.replace("full_name", "name"))
    assert compare(shown, good.replace("201 Created", "200 OK"))
    assert compare(shown, good.replace('etag: "1"', 'etag: "2"'))
    assert compare('{"a": 1}', '{"a": 1, "b": 2}')  # no `…`: exactly these fields
    assert compare("[1, …]", "[1, 2, 3]") == []
    assert compare("[1]", "[1, 2]")
    assert compare("412 If-Match…\n…\ndone", "412 If-Match does not match\nx\ny\ndone") == []


def test_the_guide_runs(
    live_server: str, empty_database: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = read_guide()
    shim, curl = _curl_dir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    state = tmp_path / "state.sh"
    state.write_text("")
    path = [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    if shim is not None:
        path.insert(0, str(shim))
    env = {**os.environ, "RAPPORT": live_server, "PATH": os.pathsep.join(path)}
    monkeypatch.setenv("RAPPORT", live_server)
    monkeypatch.chdir(work)
    save = _shell_state(examples)
    namespace: dict[str, Any] = {"__name__": "docs_api_md"}
    try:
        for ex in examples:
            if ex.language == "sh":
                printed = run_shell(ex, env, work, state, save)
            else:
                printed = run_python(ex, namespace)
            if ex.expect is not None:
                errors = compare(ex.expect, printed)
                assert not errors, (
                    f"docs/api.md:{ex.expect_line} ({ex.name}, run with {curl}): the guide "
                    "shows something else than what the example printed:\n  "
                    + "\n  ".join(errors)
                    + "\n--- printed\n"
                    + textwrap.indent(printed, "  ")
                )
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()
