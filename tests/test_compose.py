"""docker-compose.yml, its nginx config and its scheduler agree with the Dockerfile and the app.

No Docker here: the files are parsed (compose as YAML, the Dockerfile through
tests/test_deployment_files.py), and the scheduler loop compose runs is run against a live server.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alembic import command
from app.core.config import Settings
from app.main import create_app
from tests.conftest import ROOT, alembic_config
from tests.live import serve
from tests.test_deployment_files import DOCKERFILE, _cmd, _healthcheck, _make_recipe

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()
PROXY = (ROOT / "deploy" / "rapport_proxy.conf").read_text()
SCHEDULER_SCRIPT = ROOT / "deploy" / "scheduler.py"
SECRETS = ("RAPPORT_SECRET_KEY", "RAPPORT_SERVICE_TOKEN", "POSTGRES_PASSWORD")


def _app_services() -> list[str]:
    """The web replicas: services that run the Rapport image's own CMD."""
    image = SERVICES["migrate"]["image"]
    return [
        name
        for name, service in SERVICES.items()
        if service.get("image") == image and "command" not in service
    ]


def _port() -> str:
    match = re.search(r"--port (\d+)", _cmd())
    assert match
    return match[1]


def _depends(service: str) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in SERVICES[service]["depends_on"].items()}


def _secret_reference(value: str, name: str) -> bool:
    """`${NAME:?message}`: compose refuses to start without it, and the value is nowhere here."""
    return re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value) is not None


def test_two_replicas_and_the_migration_run_the_image_compose_builds() -> None:
    migrate = SERVICES["migrate"]
    assert migrate["build"] == "."
    assert (ROOT / "Dockerfile").exists()
    replicas = _app_services()
    assert len(replicas) == 2, replicas
    for name in [*replicas, "scheduler"]:
        assert SERVICES[name]["image"] == migrate["image"], name
        assert "build" not in SERVICES[name], f"{name} would build a second, different image"


def test_migration_is_one_shot_before_the_replicas_and_is_the_makefiles_command() -> None:
    migrate = SERVICES["migrate"]
    assert " ".join(migrate["command"]) == "alembic upgrade head"
    assert "alembic upgrade head" in _make_recipe("migrate")
    assert "alembic upgrade head" in DOCKERFILE
    assert migrate.get("restart") == "no"
    assert _depends("migrate") == {"postgres": "service_healthy"}
    for replica in _app_services():
        assert _depends(replica) == {"migrate": "service_completed_successfully"}


def test_postgres_has_a_readiness_check_and_keeps_its_data_in_a_volume() -> None:
    postgres = SERVICES["postgres"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    volume, _, target = postgres["volumes"][0].partition(":")
    assert volume in COMPOSE["volumes"] and target == "/var/lib/postgresql/data"
    database = SERVICES["migrate"]["environment"]["RAPPORT_DATABASE_URL"]
    assert "@postgres:5432/" in database
    assert database.endswith("/" + postgres["environment"]["POSTGRES_DB"])


def test_replicas_serve_the_images_cmd_and_stop_after_its_graceful_shutdown() -> None:
    cmd = _cmd()
    assert "uvicorn app.main:app " in cmd
    assert "--no-proxy-headers" in cmd, "Rapport applies RAPPORT_TRUSTED_PROXIES itself"
    assert "--proxy-headers" not in cmd.replace("--no-proxy-headers", "")
    graceful = int(re.search(r"--timeout-graceful-shutdown (\d+)", cmd)[1])  # type: ignore[index]
    for replica in _app_services():
        service = SERVICES[replica]
        assert "command" not in service and "entrypoint" not in service
        assert int(service["stop_grace_period"].removesuffix("s")) > graceful
        assert "/tmp" in service.get("tmpfs", []) or not service.get("read_only")


def test_make_run_also_leaves_proxy_headers_to_rapport() -> None:
    run = _make_recipe("run")
    assert "uvicorn app.main:app " in run
    assert "--no-proxy-headers" in run
    assert "--proxy-headers" not in run.replace("--no-proxy-headers", "")


def test_load_balancer_round_robins_over_the_replicas_on_the_images_port() -> None:
    upstream = re.search(r"upstream rapport \{(.*?)\n    \}", NGINX, re.DOTALL)
    assert upstream
    servers = re.findall(r"^\s*server (\S+)", upstream[1], re.MULTILINE)
    assert sorted(servers) == sorted(f"{name}:{_port()}" for name in _app_services())
    # No `hash`, `ip_hash` or `least_conn`: nginx's default round-robin.
    assert not re.search(r"^\s*(hash|ip_hash|least_conn)\b", upstream[1], re.MULTILINE)
    assert set(_depends("lb")) == set(_app_services())
    assert set(_depends("lb").values()) == {"service_healthy"}, "the image's HEALTHCHECK"
    assert "/healthz" in _healthcheck()

    listen = re.search(r"^\s*listen (\d+);", NGINX, re.MULTILINE)
    assert listen
    published = [port.rsplit(":", 1)[1] for port in SERVICES["lb"]["ports"]]
    assert published == [listen[1]]
    for mount in SERVICES["lb"]["volumes"]:
        source = mount.split(":")[0]
        assert (ROOT / source).is_file(), source
    assert "include /etc/nginx/rapport_proxy.conf;" in NGINX
    assert any(m.endswith(":/etc/nginx/rapport_proxy.conf:ro") for m in SERVICES["lb"]["volumes"])


def test_load_balancer_forwards_client_address_and_scheme_and_hides_metrics() -> None:
    assert re.search(r"proxy_set_header X-Forwarded-For \$\w+;", PROXY)
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in PROXY
    metrics = re.search(r"location = /metrics \{(.*?)\}", NGINX, re.DOTALL)
    assert metrics and "return 404;" in metrics[1] and "proxy_pass" not in metrics[1]
    # Every other location proxies to the replicas.
    assert NGINX.count("proxy_pass http://rapport;") == NGINX.count("location ") - 1


def test_replicas_trust_forwarded_headers_from_the_load_balancers_network_only() -> None:
    lb_networks = SERVICES["lb"]["networks"]
    assert lb_networks == ["front"]
    subnet = COMPOSE["networks"]["front"]["ipam"]["config"][0]["subnet"]
    default = re.fullmatch(r"\$\{RAPPORT_FRONT_SUBNET:-([^}]+)\}", subnet)
    assert default, subnet
    ipaddress.ip_network(default[1])
    for replica in _app_services():
        assert SERVICES[replica]["environment"]["RAPPORT_TRUSTED_PROXIES"] == subnet
    # PostgreSQL is reachable from the replicas and the migration only.
    assert COMPOSE["networks"]["data"].get("internal") is True
    assert SERVICES["postgres"]["networks"] == ["data"]


def test_secrets_come_from_the_environment_and_are_required() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if key in SECRETS:
                assert _secret_reference(value, key), f"{name}.{key} = {value!r}"
    assert "${POSTGRES_PASSWORD:?" in SERVICES["migrate"]["environment"]["RAPPORT_DATABASE_URL"]
    for replica in _app_services():
        env = SERVICES[replica]["environment"]
        assert _secret_reference(env["RAPPORT_SECRET_KEY"], "RAPPORT_SECRET_KEY")
        assert _secret_reference(env["RAPPORT_SERVICE_TOKEN"], "RAPPORT_SERVICE_TOKEN")
    example = (ROOT / "deploy" / "env.example").read_text()
    for secret in SECRETS:
        assert re.search(rf"^{secret}=$", example, re.MULTILINE), f"{secret} is not left empty"
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_scheduler_calls_the_run_endpoint_through_the_balancer_with_the_service_token() -> None:
    scheduler = SERVICES["scheduler"]
    env = scheduler["environment"]
    assert (
        env["RAPPORT_SERVICE_TOKEN"]
        == SERVICES[_app_services()[0]]["environment"]["RAPPORT_SERVICE_TOKEN"]
    )
    listen = re.search(r"^\s*listen (\d+);", NGINX, re.MULTILINE)
    assert listen
    assert env["RAPPORT_SCHEDULER_URL"] == f"http://lb:{listen[1]}/v1/scheduler/run"
    assert "lb" in _depends("scheduler") and set(scheduler["networks"]) & set(
        SERVICES["lb"]["networks"]
    )
    script = scheduler["command"][-1]
    assert any(
        m.split(":")[0] == "./deploy/scheduler.py" and m.split(":")[1] == script
        for m in scheduler["volumes"]
    )
    app = create_app(Settings(database_url="sqlite:///:memory:", secret_key="x" * 32))
    assert "post" in app.openapi()["paths"]["/v1/scheduler/run"]


@pytest.fixture
def service_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A live server with a service token, on its own migrated SQLite file."""
    url = f"sqlite:///{tmp_path}/rapport.db"
    command.upgrade(alembic_config(url), "head")
    monkeypatch.setenv("RAPPORT_SERVICE_TOKEN", "compose-service-token-" + "t" * 20)
    with serve(url, tmp_path / "server.log", "--log-level", "warning") as base:
        yield base


def _scheduler(base: str, token: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "RAPPORT_SERVICE_TOKEN": token,
        "RAPPORT_SCHEDULER_URL": f"{base}/v1/scheduler/run",
        "RAPPORT_SCHEDULER_INTERVAL_SECONDS": "3600",
    }
    return subprocess.Popen(
        [sys.executable, str(SCHEDULER_SCRIPT)], env=env, stdout=subprocess.PIPE, text=True
    )


def _first_run_then_sigterm(process: subprocess.Popen[str]) -> tuple[dict[str, Any], int]:
    assert process.stdout is not None
    line = process.stdout.readline()  # the first run happens at start
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    finally:
        process.kill()
    return json.loads(line), code


def test_compose_scheduler_runs_all_users_with_the_service_token(service_server: str) -> None:
    record, code = _first_run_then_sigterm(
        _scheduler(service_server, os.environ["RAPPORT_SERVICE_TOKEN"])
    )
    assert record["event"] == "scheduler_run" and record["status"] == 200, record
    assert record["tasks_created"] == 0
    assert code == 0, "SIGTERM between runs stops it cleanly"
    assert os.environ["RAPPORT_SERVICE_TOKEN"] not in json.dumps(record)


def test_compose_scheduler_reports_a_refused_token_and_keeps_going(service_server: str) -> None:
    record, code = _first_run_then_sigterm(_scheduler(service_server, "not-the-service-token"))
    assert record["status"] == 401 and "error" in record, record
    assert "not-the-service-token" not in json.dumps(record)
    assert code == 0, "a refused run is logged, not a crash"
