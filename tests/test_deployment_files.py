"""Static checks of the deployment files: there is no Docker engine here, so nothing is built or started.

They catch what would only show on a machine with Docker: a COPY of a path that does not exist, a URL that names
a service the compose file lacks or a port it does not listen on, a service the gateway routes to but compose
does not run, a migration step for a service that is not there; and that `make test` runs the linters.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "dossier", "payment", "feedback", "document")
# Folder of each runnable member -> (distribution, import package).
APPS = {"gateway": ("egov-gateway", "egov_gateway")} | {
    f"svc-{name}": (f"egov-{name}", f"egov_{name}") for name in SERVICES
}
# Compose service name of each runnable member.
COMPOSE_NAME = {"gateway": "gateway"} | {f"svc-{name}": name for name in SERVICES}


# --- parsing helpers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile(folder: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    text = (ROOT / folder / "Dockerfile").read_text()
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, f"{folder}/Dockerfile ends inside a continued line"
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip()))
    return result


def exec_form(args: str) -> list[str]:
    """Arguments of CMD/ENTRYPOINT/HEALTHCHECK CMD in JSON or shell form, as a list of words."""
    args = args.strip()
    if args.startswith("["):
        words: list[str] = yaml.safe_load(args)
        return words
    return shlex.split(args)


def option(words: list[str], name: str) -> str:
    assert name in words, f"{name} missing from {words}"
    return words[words.index(name) + 1]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    return services


def listening_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(port).split("/")[0]) for port in service.get("expose", [])}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency of a compose service -> its condition."""
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def load_cluster() -> ModuleType:
    """deploy/local/cluster.py is a script, not a package module: load it from its file."""
    path = ROOT / "deploy" / "local" / "cluster.py"
    spec = importlib.util.spec_from_file_location("egov_local_cluster", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


# --- Dockerfiles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(APPS))
def test_dockerfile_copies_only_paths_that_exist(folder: str) -> None:
    copies = [i for i in dockerfile(folder) if i.keyword in ("COPY", "ADD")]
    assert copies, f"{folder}/Dockerfile copies nothing"
    for instruction in copies:
        words = [w for w in shlex.split(instruction.args) if not w.startswith("--")]
        assert len(words) >= 2, f"COPY needs a source and a destination: {instruction.args}"
        for source in words[:-1]:
            assert list(ROOT.glob(source.rstrip("/") or ".")), (
                f"{folder}/Dockerfile: COPY {source} not in repo"
            )


@pytest.mark.parametrize("folder", sorted(APPS))
def test_dockerfile_installs_its_own_package_and_serves_it(folder: str) -> None:
    dist, package = APPS[folder]
    steps = dockerfile(folder)
    assert steps[0] == Instruction("FROM", "python:3.11-slim")

    copied = [shlex.split(i.args)[0] for i in steps if i.keyword == "COPY"]
    pyprojects = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    # uv resolves the workspace from every member's pyproject.toml, whichever member the image installs.
    for member in pyprojects:
        assert f"{member}/pyproject.toml" in copied or f"{member}/" in copied, member
    assert "uv.lock" in " ".join(i.args for i in steps if i.keyword == "COPY")
    assert {"shared/", f"{folder}/"} <= set(copied)
    # The sources of other members stay out of the image.
    for other in APPS:
        if other != folder:
            assert f"{other}/" not in copied, f"{folder}/Dockerfile copies {other}/"

    syncs = [i.args for i in steps if i.keyword == "RUN" and "uv sync" in i.args]
    assert syncs, "no uv sync"
    for sync in syncs:
        assert {"--frozen", "--no-dev", "--package", dist} <= set(sync.split()), sync
        assert sync.split()[sync.split().index("--package") + 1] == dist, sync
        # Editable, so a service's MIGRATIONS_DIR (next to its src/) exists in the image.
        assert "--no-editable" not in sync.split(), sync

    users = [i.args for i in steps if i.keyword == "USER"]
    assert users, "no USER: the service would run as root"
    assert users[-1] not in ("root", "0"), "the service must not run as root"

    (expose,) = [int(i.args) for i in steps if i.keyword == "EXPOSE"]
    cmd = exec_form(next(i.args for i in reversed(steps) if i.keyword == "CMD"))
    if folder == "gateway":
        # egov-gateway (egov_gateway.main) listens where EGOV_GATEWAY_HOST and EGOV_GATEWAY_PORT say.
        assert cmd == ["egov-gateway"]
        env = dict(w.split("=", 1) for i in steps if i.keyword == "ENV" for w in shlex.split(i.args))
        assert int(env["EGOV_GATEWAY_PORT"]) == expose
        assert env["EGOV_GATEWAY_HOST"] == "0.0.0.0"
    else:
        assert cmd[:3] == ["uvicorn", "--factory", f"{package}.main:create_app"]
        assert int(option(cmd, "--port")) == expose
        assert option(cmd, "--host") == "0.0.0.0"

    (health,) = [i.args for i in steps if i.keyword == "HEALTHCHECK"]
    assert f"127.0.0.1:{expose}/healthz" in health


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")
    }
    assert {"var", ".venv", ".git", "**/__pycache__", "**/.mypy_cache"} <= ignored


# --- docker-compose.yml --------------------------------------------------------------------------------


def test_compose_defines_infrastructure_every_member_and_a_migration_per_service() -> None:
    services = compose_services()
    expected = {"postgres", "rabbitmq", "gateway", *SERVICES, *(f"migrate-{s}" for s in SERVICES)}
    assert set(services) == expected
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3-management")


@pytest.mark.parametrize("folder", sorted(APPS))
def test_compose_builds_each_member_from_its_dockerfile_at_the_repo_root(folder: str) -> None:
    service = compose_services()[COMPOSE_NAME[folder]]
    assert service["build"] == {"context": ".", "dockerfile": f"{folder}/Dockerfile"}
    # compose reaches a service on the port it listens on, which the Dockerfile's CMD sets.
    (expose,) = [int(i.args) for i in dockerfile(folder) if i.keyword == "EXPOSE"]
    assert listening_ports(service) == {expose}
    assert "command" not in service, "a command would override the Dockerfile's port"


def test_every_url_in_compose_names_a_compose_service_and_its_port() -> None:
    services = compose_services()
    urls = [
        (name, key, value)
        for name, service in services.items()
        for key, value in environment(service).items()
        if re.match(r"^[a-z][a-z0-9+.-]*://", value)
    ]
    assert len(urls) >= len(SERVICES) * 3, "expected database, broker and gateway URLs"
    for name, key, url in urls:
        parts = urlsplit(url)
        assert parts.hostname in services, f"{name}.{key}={url}: no service {parts.hostname}"
        assert parts.port in listening_ports(services[parts.hostname]), (
            f"{name}.{key}={url}: port not exposed"
        )


def test_compose_runs_exactly_the_services_the_gateway_routes_to() -> None:
    # egov_gateway.routes.SERVICES: the names of the services the gateway forwards to.
    from egov_gateway.routes import SERVICES as ROUTED

    services = compose_services()
    members = {name for name, service in services.items() if "build" in service and "command" not in service}
    assert members - {"gateway"} == set(ROUTED)
    gateway_env = environment(services["gateway"])
    routed_urls = {key for key in gateway_env if re.fullmatch(r"EGOV_GATEWAY_[A-Z]+_URL", key)}
    assert routed_urls == {f"EGOV_GATEWAY_{name.upper()}_URL" for name in ROUTED}
    for name in ROUTED:
        assert urlsplit(gateway_env[f"EGOV_GATEWAY_{name.upper()}_URL"]).hostname == name


def test_only_the_gateway_publishes_a_port() -> None:
    published = {name: s["ports"] for name, s in compose_services().items() if s.get("ports")}
    assert published == {"gateway": ["8000:8000"]}


@pytest.mark.parametrize("service", SERVICES)
def test_migration_step_targets_its_service_and_database(service: str) -> None:
    services = compose_services()
    migrate = services[f"migrate-{service}"]
    assert migrate["command"] == ["egov-migrate", service]
    assert service in services
    assert migrate["build"] == services[service]["build"], "migrations run from the service's own image"
    key = f"EGOV_{service.upper()}_DATABASE_URL"
    assert environment(migrate)[key] == environment(services[service])[key]
    assert depends_on(services[service])[f"migrate-{service}"] == "service_completed_successfully"
    assert depends_on(migrate)["postgres"] == "service_healthy"


def test_each_service_has_its_own_database_created_at_first_start() -> None:
    services = compose_services()
    databases = {
        urlsplit(environment(services[name])[f"EGOV_{name.upper()}_DATABASE_URL"]).path.lstrip("/")
        for name in SERVICES
    }
    assert databases == {f"egov_{name}" for name in SERVICES}
    init_sql = "\n".join(p.read_text() for p in (ROOT / "deploy/compose/postgres-init").glob("*.sql"))
    created = set(re.findall(r"CREATE DATABASE (\w+)", init_sql))
    assert created == databases


def test_dependencies_exist_and_health_conditions_have_a_healthcheck() -> None:
    services = compose_services()
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            target = services[dependency]
            if condition == "service_healthy":
                folder = target.get("build", {}).get("dockerfile", "").split("/")[0]
                in_image = folder in APPS and any(i.keyword == "HEALTHCHECK" for i in dockerfile(folder))
                assert "healthcheck" in target or in_image, f"{dependency} has no healthcheck"
            if condition == "service_completed_successfully":
                assert target.get("restart", "no") == "no", f"{dependency} is one-shot"


def test_bind_mounted_files_exist() -> None:
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"


# --- the local cluster (make up) agrees with compose -----------------------------------------------------


def test_local_cluster_uses_the_same_services_and_ports_as_compose() -> None:
    cluster = load_cluster()
    services = compose_services()
    ports: dict[str, int] = cluster.SERVICE_PORTS
    assert set(ports) == set(SERVICES)
    for name, port in ports.items():
        assert listening_ports(services[name]) == {port}
    assert cluster.GATEWAY_PORT == 8000


def test_local_cluster_gives_each_service_its_database_and_the_gateway_every_route() -> None:
    cluster = load_cluster()
    env = {"EGOV_POSTGRES_ADMIN_URL": "postgresql://admin:pw@db.local:6543/postgres"}
    config = cluster.Config.from_env(env)
    processes = {p.name: p for p in cluster.plan(config, env)}
    assert set(processes) == {"gateway", *SERVICES}
    dossier = processes["dossier"]
    assert (
        dossier.env["EGOV_DOSSIER_DATABASE_URL"] == "postgresql+asyncpg://admin:pw@db.local:6543/egov_dossier"
    )
    assert dossier.env["EGOV_MIGRATE_ON_START"] == "0"
    assert dossier.argv[-4:] == ["--host", "127.0.0.1", "--port", "8002"]
    gateway = processes["gateway"].env
    assert gateway["EGOV_GATEWAY_PAYMENT_URL"] == "http://127.0.0.1:8003"
    overridden = cluster.plan(config, {**env, "EGOV_PAYMENT_DATABASE_URL": "postgresql+asyncpg://x/y"})
    assert {p.name: p for p in overridden}["payment"].env[
        "EGOV_PAYMENT_DATABASE_URL"
    ] == "postgresql+asyncpg://x/y"


# --- Makefile ------------------------------------------------------------------------------------------


def test_make_test_runs_ruff_mypy_and_pytest() -> None:
    # `make -n` prints what the target would run without running it: the real expansion, not a text search.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()

    def runs(*words: str) -> list[str]:
        return [line for line in lines if all(word in line.split() for word in words)]

    assert runs("uv", "run", "ruff", "check", "."), result.stdout
    assert runs("ruff", "format", "--check", "."), result.stdout
    checked = {word for line in runs("uv", "run", "mypy") for word in line.split()}
    for folder in ["shared", *APPS]:
        assert f"{folder}/src" in checked, f"mypy does not check {folder}/src"
    assert "tests" in checked
    (pytest_line,) = runs("uv", "run", "pytest")
    assert '-m "not slow"' in pytest_line or "-m 'not slow'" in pytest_line
