"""Build the Dockerfile and run the image without a Docker engine or a registry (`make image-test`).

1. A stand-in for the base image `python:3.11-slim`: Debian bookworm from `debootstrap` with
   Debian's Python 3.11, laid out like the real image (python3.11, python3, python and pip in
   /usr/local/bin, no EXTERNALLY-MANAGED marker), tagged in buildah's storage under the real
   image's name. It is cached outside the repository, so only the first run pays for it.
2. `buildah bud --isolation chroot --pull=never` builds the real Dockerfile on it.
3. From the built image, with `buildah run --isolation chroot`: the migration step against a
   throwaway PostgreSQL, then the image's own CMD as the server, its HEALTHCHECK command, probes
   from the host (/healthz, register + token + GET /v1/contacts, the scheduler's service call),
   and SIGTERM with a request in flight: that request must finish and the server exit 0.

Run as root on Debian (buildah's chroot isolation needs it); installs buildah and debootstrap
with apt-get when missing. Prints a PASS/FAIL line per check and a summary; exits 1 on failure.
Environment: RAPPORT_IMAGE_CACHE (default ~/.cache/rapport), RAPPORT_IMAGE_STORAGE_DRIVER
(overlay, falling back to vfs), RAPPORT_IMAGE_KEEP=1 keeps the built image's container.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.pg import PostgresCluster  # noqa: E402

BASE_IMAGE = "docker.io/library/python:3.11-slim"
IMAGE = "localhost/rapport:image-test"
# Bump when the stand-in's recipe changes, so cached copies are rebuilt.
STANDIN_VERSION = "1"
SUITE = "bookworm"
# What the real python:3.11-slim adds to a minimal Debian, besides Python itself.
STANDIN_PACKAGES = ["python3.11", "python3-pip", "ca-certificates", "netbase", "tzdata"]
PORT = 8000  # the image's CMD listens here; chroot isolation shares the host's network
SECRET = "image-test-secret-" + "k" * 32
SERVICE_TOKEN = "image-test-service-token-" + "s" * 24

CACHE = Path(os.environ.get("RAPPORT_IMAGE_CACHE", Path.home() / ".cache" / "rapport"))
STORAGE_ROOT = CACHE / "containers"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# buildah's run-time state (locks, mounts) belongs to one storage root: one per cache folder.
RUN_ROOT = Path(tempfile.gettempdir()) / (
    "rapport-image-test-run-" + hashlib.sha256(str(CACHE).encode()).hexdigest()[:8]
)


class Failed(Exception):
    pass


class Report:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []
        self.timings: dict[str, float] = {}
        self.facts: dict[str, str] = {}

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.results.append((name, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}{'  ' + detail if detail else ''}", flush=True)
        if not ok:
            raise Failed(name)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        print(f"--- {name}", flush=True)
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = time.monotonic() - start

    def summary(self, error: str | None) -> bool:
        passed = sum(ok for _, ok, _ in self.results)
        ok = error is None and passed == len(self.results)
        print("\n==== make image-test summary")
        for name, seconds in self.timings.items():
            print(f"  {name:<34} {seconds:7.1f} s")
        for name, value in self.facts.items():
            print(f"  {name:<34} {value}")
        print(f"  checks passed                      {passed}/{len(self.results)}")
        if error:
            print(f"  stopped by                         {error}")
        print("PASS" if ok else "FAIL", flush=True)
        return ok


def run(*args: str | Path, capture: bool = False, **kwargs: Any) -> str:
    """Run a command; on failure show its output and stop."""
    command = [str(a) for a in args]
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
        check=False,
        **kwargs,
    )
    if result.returncode != 0:
        output = (result.stdout or "")[-3000:]
        raise Failed(f"`{' '.join(command)[:200]}` exited {result.returncode}\n{output}")
    return result.stdout or ""


def ensure_tools() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise Failed(f"{' '.join(missing)} missing: run as root, or apt-get install them")
    print(f"--- apt-get install {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env)


def debian_mirror() -> str:
    """The machine's own Debian mirror (deb822 or one-line sources), else the default."""
    for path in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"]:
                url = next((w for w in words[1:] if "://" in w), "")
                if url and "security" not in url:
                    return url
    return "http://deb.debian.org/debian"


# Run inside the fresh Debian root: the real image's layout (Python built into /usr/local).
STANDIN_FIXUP = """
set -eu
for name in python3.11 python3 python; do ln -sf /usr/bin/python3.11 /usr/local/bin/$name; done
for name in pip3.11 pip3 pip; do
    printf '#!/bin/sh\\nexec /usr/local/bin/python3.11 -m pip "$@"\\n' > /usr/local/bin/$name
    chmod 755 /usr/local/bin/$name
done
rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /var/cache/debconf/*-old \\
    /var/log/*.log /var/log/apt/*
/usr/local/bin/python3.11 --version
/usr/local/bin/python -c 'import ssl, sqlite3, venv'
/usr/local/bin/pip --version
"""


def standin_tarball(report: Report) -> Path:
    tarball = CACHE / f"python-3.11-slim-standin-{SUITE}-v{STANDIN_VERSION}.tar"
    if tarball.exists():
        report.facts["stand-in base"] = f"cached ({tarball.name})"
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    rootfs = CACHE / "standin-rootfs.partial"
    shutil.rmtree(rootfs, ignore_errors=True)
    with report.timed("debootstrap stand-in base"):
        run(
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(STANDIN_PACKAGES)}",
            SUITE,
            rootfs,
            debian_mirror(),
        )
        # debootstrap leaves the host's resolv.conf out; the fix-up needs none (no network).
        print(run("chroot", rootfs, "/bin/sh", "-c", STANDIN_FIXUP, capture=True), end="")
        partial = tarball.with_suffix(".partial")
        run(
            "tar",
            "--numeric-owner",
            "--xattrs",
            "-C",
            rootfs,
            "--exclude=./dev/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "-cf",
            partial,
            ".",
        )
        partial.rename(tarball)
        shutil.rmtree(rootfs, ignore_errors=True)
    report.facts["stand-in base"] = f"built ({tarball.name})"
    return tarball


class Buildah:
    def __init__(self, driver: str) -> None:
        self.driver = driver
        self.prefix = [
            "buildah",
            "--root",
            str(STORAGE_ROOT / driver),
            "--runroot",
            str(RUN_ROOT / driver),
            "--storage-driver",
            driver,
        ]

    def __call__(self, *args: str | Path, capture: bool = True, **kwargs: Any) -> str:
        return run(*self.prefix, *args, capture=capture, **kwargs)

    def command(self, *args: str) -> list[str]:
        return [*self.prefix, *args]

    def inspect(self, image: str) -> dict[str, Any] | None:
        result = subprocess.run(
            self.command("inspect", "--type", "image", image),
            capture_output=True,
            text=True,
            check=False,
        )
        return json.loads(result.stdout) if result.returncode == 0 else None


def storage(report: Report) -> Buildah:
    """overlay when this kernel and filesystem take it (fast, small), else vfs (full copies)."""
    wanted = os.environ.get("RAPPORT_IMAGE_STORAGE_DRIVER")
    for driver in [wanted] if wanted else ["overlay", "vfs"]:
        buildah = Buildah(driver)
        try:
            container = buildah("from", "scratch").strip()
            buildah("mount", container)
            buildah("rm", container)
        except Failed as exc:
            print(f"storage driver {driver} unusable: {str(exc).splitlines()[0]}", flush=True)
            continue
        report.facts["storage driver"] = driver
        return buildah
    raise Failed("no usable buildah storage driver")


def standin_image(buildah: Buildah, report: Report) -> None:
    # The build downloads from PyPI: where this machine reaches it through a TLS-inspecting
    # proxy, its CA bundle (which trusts that proxy) must be the stand-in's too. The label ties
    # the imported image to the recipe and to that bundle.
    bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else b""
    stamp = f"{STANDIN_VERSION}-{hashlib.sha256(bundle).hexdigest()[:16]}"
    found = buildah.inspect(BASE_IMAGE)
    label = "org.rapport.standin"
    if found and (found.get("OCIv1", {}).get("config", {}).get("Labels") or {}).get(label) == (
        stamp
    ):
        return
    tarball = standin_tarball(report)
    with report.timed("import stand-in into buildah"):
        container = buildah("from", "scratch").strip()
        try:
            buildah("add", container, tarball, "/")
            if bundle:
                buildah("copy", container, HOST_CA_BUNDLE, str(HOST_CA_BUNDLE))
            buildah(
                "config",
                "--env",
                "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--env",
                "LANG=C.UTF-8",
                "--env",
                "PYTHON_VERSION=3.11",
                # uv ships its own root certificates; this makes it use the bundle above.
                "--env",
                f"SSL_CERT_FILE={HOST_CA_BUNDLE}",
                "--label",
                f"{label}={stamp}",
                "--cmd",
                "python3",
                container,
            )
            buildah("commit", "--format", "docker", container, BASE_IMAGE)
        finally:
            subprocess.run(buildah.command("rm", container), capture_output=True, check=False)


def build(buildah: Buildah, report: Report) -> dict[str, Any]:
    with report.timed("buildah bud (the Dockerfile)"):
        # --format docker keeps HEALTHCHECK (OCI has no field for it); --layers caches each
        # step, so a rerun with unchanged locks skips the dependency install.
        subprocess.run(
            buildah.command(
                "bud",
                "--isolation",
                "chroot",
                "--pull=never",
                "--network",
                "host",
                "--format",
                "docker",
                "--layers",
                "--tag",
                IMAGE,
                "--file",
                str(ROOT / "Dockerfile"),
                str(ROOT),
            ),
            check=True,
        )
    image = buildah.inspect(IMAGE)
    base = buildah.inspect(BASE_IMAGE)
    assert image is not None and base is not None
    size, base_size = image_size(buildah, IMAGE), image_size(buildah, BASE_IMAGE)
    report.facts["image size"] = (
        f"{size / 1e6:.0f} MB ({(size - base_size) / 1e6:.0f} MB over base)"
    )
    report.facts["stand-in base size"] = f"{base_size / 1e6:.0f} MB"
    return image


def image_size(buildah: Buildah, name: str) -> int:
    """Unpacked size in bytes (buildah prints it for people: "349 MB")."""
    number, unit = json.loads(buildah("images", "--json", name))[0]["size"].split()
    return int(float(number) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _cmdline(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return (Path(f"/proc/{pid}/cmdline").read_bytes().decode().rstrip("\0")).split("\0")
    return []


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise Failed(f"no Uid for {pid}")


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_for(what: str, probe: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.2)
    raise Failed(f"timed out after {seconds:.0f} s waiting for {what}")


def server_pid(server: subprocess.Popen[bytes] | None) -> int | None:
    return server.pid if server is not None and server.poll() is None else None


def port_free(port: int) -> bool:
    with socket.socket() as s:
        # Like a server would: connections in TIME_WAIT do not count, a listener does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


def half_sent_request(base: str, token: str) -> tuple[socket.socket, bytes]:
    """A POST whose headers are sent and body is not: in flight for the server from then on."""
    body = json.dumps({"full_name": "In flight at SIGTERM"}).encode()
    host, port = base.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST /v1/contacts HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    conn.sendall(head + body[:10])
    return conn, body[10:]


def finish_request(conn: socket.socket, rest: bytes) -> int:
    conn.sendall(rest)
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    conn.close()
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def exercise(buildah: Buildah, image: dict[str, Any], report: Report, workdir: Path) -> None:
    config = image["Docker"]["config"]
    report.check(
        "image runs as a non-root user",
        config.get("User", "") not in {"", "root", "0", "0:0"},
        f"USER {config.get('User')}",
    )
    healthcheck = (config.get("Healthcheck") or {}).get("Test") or []
    report.check("image keeps its HEALTHCHECK", healthcheck[:1] == ["CMD"], str(healthcheck))
    command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    report.check("image has a CMD", bool(command))

    cluster = PostgresCluster()
    container = f"rapport-image-test-{uuid.uuid4().hex[:8]}"
    server: subprocess.Popen[bytes] | None = None
    started: set[int] = set()  # the container's processes, to kill if a check fails
    log_path = workdir / "server.log"
    try:
        with report.timed("throwaway PostgreSQL"):
            database_url = cluster.start()
        buildah("from", "--pull=never", "--name", container, IMAGE)
        env = [
            f"RAPPORT_DATABASE_URL={database_url}",
            f"RAPPORT_SECRET_KEY={SECRET}",
            f"RAPPORT_SERVICE_TOKEN={SERVICE_TOKEN}",
        ]
        in_container = buildah.command(
            "run", "--isolation", "chroot", "--network", "host",
            *[arg for value in env for arg in ("--env", value)], container, "--",
        )  # fmt: skip

        with report.timed("migration (alembic upgrade head)"):
            migrate = subprocess.run(
                [*in_container, "alembic", "upgrade", "head"],
                capture_output=True,
                text=True,
                check=False,
            )
        report.check(
            "migration step runs in the image",
            migrate.returncode == 0,
            "" if migrate.returncode == 0 else migrate.stdout[-2000:] + migrate.stderr[-2000:],
        )

        report.check(f"port {PORT} is free on this machine", port_free(PORT))
        base = f"http://127.0.0.1:{PORT}"
        with report.timed("server start (the image's CMD)"), log_path.open("wb") as log:
            server = subprocess.Popen(
                [*in_container, *command], stdout=log, stderr=subprocess.STDOUT
            )
            wait_for(
                "/healthz", lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 90
            )
        report.check("/healthz from the host", True, httpx.get(f"{base}/healthz").text)

        # The process running uvicorn itself (buildah's runtime processes above it only name
        # uvicorn in their arguments): what Docker would signal as the container's PID 1.
        masters = [
            p
            for p in descendants(server.pid)
            if any(Path(arg).name == "uvicorn" for arg in _cmdline(p)[:2])
        ]
        report.check("one uvicorn supervisor", len(masters) == 1, str(masters))
        master = masters[0]
        expected_workers = int(
            next(
                (e.split("=", 1)[1] for e in config.get("Env", [])
                 if e.startswith("WEB_CONCURRENCY=")),
                "1",
            )
        )  # fmt: skip

        def workers() -> list[int]:  # spawned by multiprocessing: their cmdline has no "uvicorn"
            return [p for p in descendants(master) if "spawn_main" in " ".join(_cmdline(p))]

        with contextlib.suppress(Failed):
            wait_for("every worker", lambda: len(workers()) >= expected_workers, 30)
        report.check(
            "workers as WEB_CONCURRENCY says",
            len(workers()) == expected_workers > 1,
            f"{len(workers())} workers, WEB_CONCURRENCY={expected_workers}",
        )
        processes = [master, *workers()]
        started.update(processes)
        uids = {_uid(p) for p in processes}
        report.check("server processes are not root", 0 not in uids, f"uids {sorted(uids)}")
        parent = int(Path(f"/proc/{master}/stat").read_text().rsplit(")", 1)[1].split()[1])
        report.check(
            "the CMD execs uvicorn (it gets SIGTERM itself, no shell in between)",
            Path(_cmdline(parent)[0]).name not in {"sh", "bash", "dash"},
            Path(_cmdline(parent)[0]).name,
        )

        probe = subprocess.run(
            [*in_container, *healthcheck[1:]], capture_output=True, text=True, check=False
        )
        report.check("HEALTHCHECK command passes in the container", probe.returncode == 0)

        with report.timed("authenticated calls"), httpx.Client(base_url=base, timeout=30) as api:
            email, password = f"image-{uuid.uuid4().hex[:8]}@example.com", "image test pass 42"
            registered = api.post("/v1/auth/register", json={"email": email, "password": password})
            report.check("register", registered.status_code == 201, str(registered.status_code))
            issued = api.post("/v1/auth/token", data={"username": email, "password": password})
            report.check("token", issued.status_code == 200, str(issued.status_code))
            token = issued.json()["access_token"]
            listed = api.get("/v1/contacts", headers={"Authorization": f"Bearer {token}"})
            report.check(
                "GET /v1/contacts with the token",
                listed.status_code == 200 and listed.json()["items"] == [],
                str(listed.status_code),
            )
            scheduled = api.post(
                "/v1/scheduler/run",
                json={},
                headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            )
            report.check(
                "scheduler run with the service token (what compose's scheduler sends)",
                scheduled.status_code == 200,
                f"{scheduled.status_code} {scheduled.text[:120]}",
            )

            # Summed over the workers (files under /tmp, writable for the image's user): the
            # scheduler run counts whichever worker served it.
            anonymous = api.get("/metrics")
            metrics = api.get("/metrics", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
            runs = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.text.splitlines()
                if line.startswith("rapport_scheduler_runs_total")
            )
            report.check(
                "/metrics needs the service token and counts the run across workers",
                anonymous.status_code == 401 and metrics.status_code == 200 and runs >= 1,
                f"{anonymous.status_code}, {metrics.status_code}, scheduler runs {runs:g}",
            )

        with report.timed("SIGTERM with a request in flight"):
            conn, rest = half_sent_request(base, token)
            try:
                time.sleep(1)  # let a worker read the headers: the request has started
                os.kill(master, signal.SIGTERM)
                # uvicorn's own words once it has stopped accepting and waits for open requests
                # (the supervisor keeps the listening socket until the workers are done).
                with contextlib.suppress(Failed):
                    wait_for(
                        "the worker to wait for its open request",
                        lambda: "Waiting for connections to close" in log_path.read_text(),
                        20,
                    )
                status = finish_request(conn, rest)
            finally:
                conn.close()
            report.check("request in flight at SIGTERM completes", status == 201, str(status))
            try:
                code: int | None = server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                code = None
            report.check("server exits 0 after SIGTERM", code == 0, f"exit {code}")
            report.check("port 8000 released", port_free(PORT))
        log_text = log_path.read_text(errors="replace")
        report.check(
            "server log shows a graceful shutdown",
            log_text.count("Finished server process") >= expected_workers,
            log_path.name,
        )
    finally:
        if server is not None and server.poll() is None:
            started.update([server.pid, *descendants(server.pid)])
        for pid in started:
            # Only if it is still ours: a pid freed by a clean exit may have been reused.
            with contextlib.suppress(OSError, Failed):
                line = " ".join(_cmdline(pid))
                if pid == server_pid(server) or (_uid(pid) != 0 and "/opt/venv/" in line):
                    os.kill(pid, signal.SIGKILL)
        if server is not None:
            server.wait()
            if log_path.exists():
                tail = log_path.read_text(errors="replace").splitlines()[-15:]
                print("--- server log (tail)\n" + "\n".join(tail), flush=True)
        if os.environ.get("RAPPORT_IMAGE_KEEP") != "1":
            subprocess.run(buildah.command("rm", container), capture_output=True, check=False)
        cluster.stop()


def main() -> int:
    report = Report()
    error = None
    started = time.monotonic()
    try:
        if os.geteuid() != 0:
            raise Failed("run as root: buildah's chroot isolation and debootstrap need it")
        ensure_tools()
        report.facts["buildah"] = run("buildah", "--version", capture=True).strip()
        buildah = storage(report)
        standin_image(buildah, report)
        image = build(buildah, report)
        with tempfile.TemporaryDirectory(prefix="rapport-image-test-") as workdir:
            exercise(buildah, image, report, Path(workdir))
    except Failed as exc:
        error = str(exc)
    except subprocess.CalledProcessError as exc:
        error = f"{' '.join(exc.cmd)[:200]} exited {exc.returncode}"
    report.timings["total"] = time.monotonic() - started
    return 0 if report.summary(error) else 1


if __name__ == "__main__":
    sys.exit(main())
