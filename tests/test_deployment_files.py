"""Static checks of the deployment files: there is no Docker engine here, so nothing is built or started.

They catch what would only show on a machine with Docker: a COPY of a path that does not exist, a URL that names
a service the compose file lacks or a port it does not listen on, a service the gateway routes to but compose
does not run, a migration step for a service that is not there; and that `make test` runs the linters.

The Kubernetes manifests (deploy/k8s) are validated offline against the Kubernetes API schemas that
kubernetes-validate ships, strictly (an unknown field fails), and cross-checked with the Dockerfiles, the console
scripts and the settings classes: every variable compose or a pod sets must be one a setting reads (so a typo
fails here, not silently in production), secrets come only by reference, and each member's settings accept its
pod's environment with EGOV_ENV=production.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, get_args
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic import AliasChoices, BaseModel, SecretStr

from egov_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "dossier", "payment", "feedback", "document")
# Folder of each runnable member -> (distribution, import package).
APPS = {"gateway": ("egov-gateway", "egov_gateway")} | {
    f"svc-{name}": (f"egov-{name}", f"egov_{name}") for name in SERVICES
}
# Compose service name of each runnable member.
COMPOSE_NAME = {"gateway": "gateway"} | {f"svc-{name}": name for name in SERVICES}
# URLs as the browser sees them (the published gateway), not addresses inside the compose network or cluster.
PUBLIC_URL_SETTINGS = {"EGOV_ISSUER", "EGOV_GATEWAY_CORS_ORIGINS"}


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
        if re.match(r"^[a-z][a-z0-9+.-]*://", value) and key not in PUBLIC_URL_SETTINGS
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


# --- the settings each member reads: the names deployment files may set ------------------------------------

# Folder of each runnable member -> its settings class.
SETTINGS = {"gateway": "egov_gateway.config:GatewaySettings"} | {
    f"svc-{name}": f"egov_{name}.config:Settings" for name in SERVICES
}
# Variables read by uvicorn itself, which egov-gateway runs in-process (uvicorn.run without these arguments).
UVICORN_ENV = {"FORWARDED_ALLOW_IPS"}
# Settings whose value holds a credential although their type is a plain str.
CREDENTIAL_URLS = {"database_url", "amqp_url"}


def settings_class(folder: str) -> type[ServiceSettings]:
    module, _, name = SETTINGS[folder].partition(":")
    cls: type[ServiceSettings] = getattr(importlib.import_module(module), name)
    return cls


def env_names(cls: type[ServiceSettings]) -> dict[str, str]:
    """Each environment variable the class reads -> its field: ``EGOV_*`` aliases, else prefix + field name."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            choices = [c for c in alias.choices if isinstance(c, str) and c.startswith("EGOV_")]
            assert choices, f"{cls.__name__}.{field_name}: no EGOV_ alias"
            names.update(dict.fromkeys(choices, field_name))
        elif isinstance(alias, str):
            names[alias.upper()] = field_name
        else:
            names[(prefix + field_name).upper()] = field_name
    return names


def holds_secret(annotation: Any) -> bool:
    """Whether a field's type is, or contains (a dict of models with a token, say), a ``SecretStr``."""
    if annotation is SecretStr:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(holds_secret(f.annotation) for f in annotation.model_fields.values())
    return any(holds_secret(arg) for arg in get_args(annotation))


def secret_env_names(cls: type[ServiceSettings]) -> set[str]:
    """Variables that must come from a Secret: secret types, declared dev secrets, URLs with credentials."""
    return {
        env
        for env, field in env_names(cls).items()
        if field in cls.dev_secrets
        or field in CREDENTIAL_URLS
        or holds_secret(cls.model_fields[field].annotation)
    }


def allowed_env(folder: str) -> set[str]:
    return set(env_names(settings_class(folder))) | (UVICORN_ENV if folder == "gateway" else set())


def settings_from(folder: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The member's settings as a process with exactly ``env`` would build them (validators included)."""
    for name in list(os.environ):
        if name.startswith("EGOV_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_class(folder)()


def test_settings_helpers_see_shared_aliases_prefixes_and_secrets() -> None:
    # The helpers above are what the checks below rest on: make sure they read the classes as pydantic does.
    document = settings_class("svc-document")
    names = env_names(document)
    assert names["EGOV_AMQP_URL"] == "amqp_url"
    assert names["EGOV_DOCUMENT_DATABASE_URL"] == "database_url"
    assert "EGOV_DOCUMENT_AMQP_URL" not in names
    assert {
        "EGOV_KEY_ENCRYPTION_KEY",
        "EGOV_DOCUMENT_URL_SIGNING_SECRET",
        "EGOV_DOCUMENT_S3_SECRET_ACCESS_KEY",
        "EGOV_DOCUMENT_PARTNERS",
        "EGOV_DOCUMENT_DATABASE_URL",
    } <= secret_env_names(document)
    assert "EGOV_DOCUMENT_S3_BUCKET" not in secret_env_names(document)
    assert "EGOV_GATEWAY_IDENTITY_URL" in env_names(settings_class("gateway"))


def test_uvicorn_reads_forwarded_allow_ips_that_the_gateway_leaves_to_it() -> None:
    import uvicorn.config

    from egov_gateway import main as gateway_main

    assert "FORWARDED_ALLOW_IPS" in inspect.getsource(uvicorn.config)
    assert "forwarded_allow_ips" not in inspect.getsource(gateway_main)


@pytest.mark.parametrize("folder", sorted(APPS))
def test_dockerfile_command_is_uvicorn_or_a_console_script_of_the_image(folder: str) -> None:
    cmd = exec_form(next(i.args for i in reversed(dockerfile(folder)) if i.keyword == "CMD"))
    if cmd[0] != "uvicorn":  # uvicorn[standard] is a dependency of egov-shared
        assert cmd[0] in console_scripts(folder), f"{folder}: {cmd[0]} is not a console script of the image"


def console_scripts(folder: str) -> set[str]:
    """Console scripts installed in a member's image: its own and egov-shared's ([project.scripts])."""
    scripts: set[str] = set()
    for member in ("shared", folder):
        project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
        scripts |= set(project.get("scripts", {}))
    return scripts


# --- docker-compose.yml: health and settings -----------------------------------------------------------


def compose_member(folder: str) -> dict[str, Any]:
    return compose_services()[COMPOSE_NAME[folder]]


def published_gateway_url() -> str:
    (published,) = compose_member("gateway")["ports"]
    host_port = str(published).split(":")[-2]
    return f"http://localhost:{host_port}"


@pytest.mark.parametrize("folder", sorted(APPS))
def test_compose_health_of_each_member_is_its_readyz_asked_with_python(folder: str) -> None:
    service = compose_member(folder)
    (expose,) = [int(i.args) for i in dockerfile(folder) if i.keyword == "EXPOSE"]
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    assert "urllib.request.urlopen" in test[3]
    assert f"'http://127.0.0.1:{expose}/readyz'" in test[3]
    # urllib because the images have no curl or wget.
    installs = " ".join(i.args for i in dockerfile(folder) if i.keyword == "RUN")
    assert "curl" not in installs
    assert "wget" not in installs


def test_compose_every_container_has_a_healthcheck_and_one_shots_disable_the_images() -> None:
    for name, service in compose_services().items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        if name.startswith("migrate-"):
            assert service["healthcheck"] == {"disable": True}, name
        else:
            assert service["healthcheck"]["test"][0] == "CMD", name


def test_compose_rabbitmq_keeps_its_queues_across_recreated_containers() -> None:
    rabbitmq = compose_services()["rabbitmq"]
    assert rabbitmq["hostname"] == "rabbitmq"
    assert any(str(v).endswith(":/var/lib/rabbitmq") for v in rabbitmq["volumes"])
    assert listening_ports(rabbitmq) == {5672, 15672}


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_compose_sets_only_settings_the_member_reads(name: str) -> None:
    service = compose_services()[name]
    if "build" not in service:
        return  # postgres, rabbitmq: their images' own variables
    folder = service["build"]["dockerfile"].split("/")[0]
    unknown = set(environment(service)) - allowed_env(folder)
    assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("folder", sorted(APPS))
def test_compose_settings_validate_and_reach_keys_and_peers_through_the_gateway(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = compose_member(folder)
    assert service["image"] == APPS[folder][0]
    settings = settings_from(folder, environment(service), monkeypatch)
    assert settings.issuer == published_gateway_url() == "http://localhost:8000"
    assert settings.jwks_url == "http://gateway:8000/oauth2/jwks"
    assert settings.api_url == "http://gateway:8000"
    assert settings.migrate_on_start is False
    if folder != "gateway":
        assert settings.amqp_url is not None
        assert settings.database_url.startswith("postgresql+asyncpg://")


# --- Kubernetes (deploy/k8s) ---------------------------------------------------------------------------

K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.31"
NAMESPACE = "egov"
SECRETS_EXAMPLE = K8S / "secrets.example.yaml"
# ConfigMaps the operator creates from files of their own (deploy/README.md), not kept in the repository.
OPERATOR_CONFIGMAPS = {"egov-document-pki"}
PLACEHOLDER = "CHANGE-ME"


@functools.cache
def _parsed(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(doc for doc in yaml.safe_load_all(path.read_text()) if doc)


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    """The documents of a YAML file, empty ones dropped; parsed once per run, a fresh copy every call."""
    return copy.deepcopy(list(_parsed(path)))


def k8s_manifests() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def kustomization(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return data


def kustomize_files(directory: Path) -> list[Path]:
    """The manifest files a kustomization builds from, following directory resources (what kustomize reads)."""
    files: list[Path] = []
    for entry in kustomization(directory)["resources"]:
        path = (directory / entry).resolve()
        assert path.exists(), f"{directory}/kustomization.yaml: {entry} does not exist"
        files += kustomize_files(path) if path.is_dir() else [path]
    return files


def build(directory: Path) -> list[dict[str, Any]]:
    objects = [doc for path in kustomize_files(directory) for doc in yaml_documents(path)]
    ids = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(ids) == len(set(ids)), f"{directory}: an object twice"
    return objects


def app_objects() -> list[dict[str, Any]]:
    return build(K8S)


def migration_objects() -> list[dict[str, Any]]:
    return build(K8S / "migrations")


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"no single {kind}/{name}"
    return matches[0]


def configmaps() -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: o.get("data") or {} for o in app_objects() if o["kind"] == "ConfigMap"}


def example_secrets() -> dict[str, dict[str, str]]:
    return {doc["metadata"]["name"]: doc["stringData"] for doc in yaml_documents(SECRETS_EXAMPLE)}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(workload)["containers"]
    assert not pod_spec(workload).get("initContainers")
    result: dict[str, Any] = container
    return result


@dataclass(frozen=True)
class EnvSource:
    kind: str  # value | configMap | secret
    name: str | None = None  # the ConfigMap or Secret
    key: str | None = None
    value: str | None = None  # a literal, or the repository ConfigMap's value
    optional: bool = False


def container_env(container: dict[str, Any]) -> dict[str, EnvSource]:
    """Every variable a container gets, with where it comes from; a name given twice fails."""
    env: dict[str, EnvSource] = {}

    def add(name: str, source: EnvSource) -> None:
        assert name not in env, f"{name} set twice ({env[name]} and {source})"
        env[name] = source

    maps, secrets = configmaps(), example_secrets()
    for item in container.get("envFrom", []):
        assert "prefix" not in item
        if "configMapRef" in item:
            ref = item["configMapRef"]["name"]
            assert ref in maps, f"envFrom names ConfigMap {ref}, not in deploy/k8s"
            for key, value in maps[ref].items():
                add(key, EnvSource("configMap", ref, key, str(value)))
        else:
            ref = item["secretRef"]["name"]
            assert ref in secrets, f"envFrom names Secret {ref}, not in {SECRETS_EXAMPLE.name}"
            for key in secrets[ref]:
                add(key, EnvSource("secret", ref, key, optional=item["secretRef"].get("optional", False)))
    for item in container.get("env", []):
        if "value" in item:
            add(item["name"], EnvSource("value", value=str(item["value"])))
            continue
        source = item["valueFrom"]
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            add(
                item["name"],
                EnvSource("secret", ref["name"], ref["key"], optional=ref.get("optional", False)),
            )
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            known = maps.get(ref["name"], {}).get(ref["key"])
            optional = ref.get("optional", False)
            add(item["name"], EnvSource("configMap", ref["name"], ref["key"], known, optional))
        else:
            raise AssertionError(f"{item['name']}: only Secret and ConfigMap references are used")
    return env


def resolved_env(env: dict[str, EnvSource]) -> dict[str, str]:
    """What a pod would see, with the example Secrets' placeholders and a stand-in for operator ConfigMaps."""
    secrets = example_secrets()
    values: dict[str, str] = {}
    for name, source in env.items():
        if source.kind == "secret":
            assert source.name is not None
            assert source.key is not None
            values[name] = secrets[source.name][source.key]
        elif source.value is not None:
            values[name] = source.value
        elif not source.optional:
            values[name] = f"operator-provided {source.name}/{source.key}"
    return values


def named_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


def exposed_port(folder: str) -> int:
    (expose,) = [int(i.args) for i in dockerfile(folder) if i.keyword == "EXPOSE"]
    return expose


def image_uid(folder: str) -> int:
    """The uid of the user the Dockerfile creates and switches to."""
    (useradd,) = [i.args for i in dockerfile(folder) if i.keyword == "RUN" and "useradd" in i.args]
    return int(option(useradd.split(), "--uid"))


@pytest.mark.parametrize(
    ("path", "index"),
    [(p, i) for p in k8s_manifests() for i in range(len(yaml_documents(p)))],
    ids=lambda value: str(value.relative_to(K8S)) if isinstance(value, Path) else str(value),
)
def test_k8s_manifest_is_valid_for_kubernetes(path: Path, index: int) -> None:
    document = yaml_documents(path)[index]
    # Strict: an unknown or misspelt field fails, not only a wrong type. Offline: the schemas ship with the package.
    try:
        validated = kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        location = ".".join(str(part) for part in exc.path)
        pytest.fail(
            f"{path.name} {document['kind']}/{document['metadata']['name']}: {location}: {exc.message}"
        )
    assert validated == K8S_VERSION


def test_k8s_kustomizations_cover_every_manifest_once_and_never_the_secrets() -> None:
    roots = [K8S, K8S / "migrations", K8S / "base"]
    for directory in roots:
        assert kustomization(directory)["namespace"] == NAMESPACE
    in_app, in_migrations = set(kustomize_files(K8S)), set(kustomize_files(K8S / "migrations"))
    assert not in_app & in_migrations, "Jobs are applied on their own; the rest is applied by the root"
    assert set(kustomize_files(K8S / "base")) <= in_app
    assert in_app | in_migrations == set(k8s_manifests()) - {SECRETS_EXAMPLE}
    assert {o["kind"] for o in migration_objects()} == {"Job"}
    kinds = {o["kind"] for o in app_objects()}
    assert "Job" not in kinds
    assert "Secret" not in kinds


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (its built-in kustomize) is not installed"
)
@pytest.mark.parametrize("directory", ["", "migrations", "base"])
def test_kustomize_builds_the_objects_these_tests_read(directory: str) -> None:
    # The tests read the kustomizations themselves; where kubectl is at hand, kustomize agrees (offline).
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / directory)], capture_output=True, text=True, check=True, timeout=60
    )
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    expected = build(K8S / directory)

    def ids(objects: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
        return {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objects}

    assert ids(built) == ids(expected)
    tags = {image["name"]: image["newTag"] for image in kustomization(K8S / directory).get("images", [])}
    for obj in built:
        if obj["kind"] in ("Deployment", "Job"):
            image = only_container(obj)["image"]
            name, _, tag = image.partition(":")
            assert tag == tags[name], image


def test_k8s_objects_live_in_the_namespace_that_enforces_restricted_pods() -> None:
    objects = app_objects() + migration_objects() + yaml_documents(SECRETS_EXAMPLE)
    namespace = find(objects, "Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, f"{obj['kind']}/{obj['metadata']['name']}"


def test_k8s_runs_every_member_and_a_migration_job_per_service() -> None:
    from egov_gateway.routes import SERVICES as ROUTED

    objects, jobs = app_objects(), migration_objects()
    for folder in APPS:
        name = COMPOSE_NAME[folder]
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            find(objects, kind, name)
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"} == {"gateway", *ROUTED}
    assert {o["metadata"]["name"] for o in jobs} == {f"migrate-{name}" for name in SERVICES}


@pytest.mark.parametrize("folder", sorted(APPS))
def test_k8s_deployment_runs_the_dockerfile_image_on_its_port(folder: str) -> None:
    name, objects = COMPOSE_NAME[folder], app_objects()
    deployment = find(objects, "Deployment", name)
    container = only_container(deployment)
    assert container["image"] == APPS[folder][0] == compose_member(folder)["image"]
    # The image's CMD starts it on the port its Dockerfile exposes; a command here would bypass that.
    assert "command" not in container
    assert "args" not in container
    port = exposed_port(folder)
    assert named_port(container, "http") == port

    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    service = find(objects, "Service", name)
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == port
    assert named_port(container, service_port["targetPort"]) == port
    # The migration pods, which serve nothing, are not behind the Service.
    for job in migration_objects():
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        assert not service["spec"]["selector"].items() <= job_labels.items()


@pytest.mark.parametrize("folder", sorted(APPS))
def test_k8s_probes_ask_readyz_and_healthz_on_the_container_port(folder: str) -> None:
    container = only_container(find(app_objects(), "Deployment", COMPOSE_NAME[folder]))
    port = exposed_port(folder)
    probes = {
        kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    for probe in probes.values():
        assert named_port(container, probe["port"]) == port
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["startupProbe"]["path"] == "/healthz"
    # The gateway's /readyz is every service's; one service down must not take the whole edge out of rotation.
    assert probes["readinessProbe"]["path"] == ("/healthz" if folder == "gateway" else "/readyz")


@pytest.mark.parametrize("folder", sorted(APPS))
def test_k8s_autoscaling_resources_and_disruption_budget(folder: str) -> None:
    name, objects = COMPOSE_NAME[folder], app_objects()
    deployment = find(objects, "Deployment", name)
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    hpa = find(objects, "HorizontalPodAutoscaler", name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    resources = only_container(deployment)["resources"]
    for bound in ("requests", "limits"):
        assert set(resources[bound]) >= {"cpu", "memory"}, f"{name}: {bound}"
    pdb = find(objects, "PodDisruptionBudget", name)
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]


def workloads() -> list[tuple[str, dict[str, Any]]]:
    """(member folder, workload) for every Deployment and Job."""
    folder_of = {name: folder for folder, name in COMPOSE_NAME.items()}
    result = []
    for obj in app_objects() + migration_objects():
        if obj["kind"] in ("Deployment", "Job"):
            result.append((folder_of[obj["metadata"]["labels"]["app.kubernetes.io/name"]], obj))
    return result


def workload_id(value: Any) -> str:
    return f"{value['kind']}/{value['metadata']['name']}" if isinstance(value, dict) else str(value)


@pytest.mark.parametrize(("folder", "workload"), workloads(), ids=workload_id)
def test_k8s_pods_run_as_the_image_user_on_a_read_only_root(folder: str, workload: dict[str, Any]) -> None:
    spec = pod_spec(workload)
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == image_uid(folder)
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    container = only_container(workload)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    # Writable scratch space only where Python and the service write: emptyDirs.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    assert "/tmp" in mounts
    for name in mounts.values():
        assert "emptyDir" in volumes[name], f"{name} is not an emptyDir"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_migration_job_runs_egov_migrate_from_the_service_image_with_its_environment(
    service: str,
) -> None:
    folder = f"svc-{service}"
    job = find(migration_objects(), "Job", f"migrate-{service}")
    deployment = find(app_objects(), "Deployment", service)
    migrate, server = only_container(job), only_container(deployment)
    assert migrate["command"] == ["egov-migrate", service]
    assert migrate["command"][0] in console_scripts(folder)
    assert migrate["image"] == server["image"]
    # The settings (and their production guard) are built from the same variables as the service's.
    assert migrate.get("env") == server.get("env")
    assert migrate.get("envFrom") == server.get("envFrom")
    assert pod_spec(job)["securityContext"] == pod_spec(deployment)["securityContext"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"].get("ttlSecondsAfterFinished") is not None, "a finished Job blocks the next release's"


@pytest.mark.parametrize(("folder", "workload"), workloads(), ids=workload_id)
def test_k8s_sets_only_settings_the_member_reads(folder: str, workload: dict[str, Any]) -> None:
    env = container_env(only_container(workload))
    unknown = set(env) - allowed_env(folder)
    assert not unknown, (
        f"{workload_id(workload)} sets variables no setting of {folder} reads: {sorted(unknown)}"
    )


@pytest.mark.parametrize(("folder", "workload"), workloads(), ids=workload_id)
def test_k8s_secrets_come_only_by_reference_and_production_gets_every_one(
    folder: str, workload: dict[str, Any]
) -> None:
    cls = settings_class(folder)
    secret_names = secret_env_names(cls)
    env = container_env(only_container(workload))
    for name, source in env.items():
        if name in secret_names:
            assert source.kind == "secret", f"{name} is a secret: from a Secret by reference only"
    # Production refuses the development defaults: each must be set, from a Secret, not optionally.
    names = env_names(cls)
    required = {env for env, field in names.items() if field in cls.dev_secrets}
    if cls.uses_key_encryption_key:
        required.add("EGOV_KEY_ENCRYPTION_KEY")
    else:  # a member that encrypts nothing (the gateway) is not handed a key it would never use
        assert "EGOV_KEY_ENCRYPTION_KEY" not in env
    if folder != "gateway":
        required |= {env for env, field in names.items() if field in CREDENTIAL_URLS}
    for name in required:
        assert name in env, f"{name} missing"
        assert env[name].kind == "secret", name
        assert not env[name].optional, f"{name} is needed in production"


def test_k8s_example_secrets_are_placeholders_and_match_the_references_exactly() -> None:
    secrets = example_secrets()
    for name, data in secrets.items():
        for key, value in data.items():
            assert PLACEHOLDER in value, f"{name}.{key}: not a placeholder"
    referenced = {
        (source.name, source.key)
        for _, workload in workloads()
        for source in container_env(only_container(workload)).values()
        if source.kind == "secret"
    }
    listed = {(name, key) for name, data in secrets.items() for key in data}
    assert referenced == listed
    # No secret value in any applied manifest: ConfigMaps hold no secret setting.
    for folder, workload in workloads():
        secret_names = secret_env_names(settings_class(folder))
        for source in container_env(only_container(workload)).values():
            if source.kind == "configMap":
                assert source.key not in secret_names


def test_k8s_configmap_keys_are_read_by_the_members_that_load_them() -> None:
    loaded_by: dict[str, set[str]] = {}
    for folder, workload in workloads():
        for item in only_container(workload).get("envFrom", []):
            if "configMapRef" in item:
                loaded_by.setdefault(item["configMapRef"]["name"], set()).add(folder)
    for name in configmaps():
        assert name in loaded_by, f"ConfigMap {name} is used by no pod"
    refs = {
        source.name
        for _, workload in workloads()
        for source in container_env(only_container(workload)).values()
        if source.kind == "configMap"
    }
    assert refs <= set(configmaps()) | OPERATOR_CONFIGMAPS
    readme = (ROOT / "deploy" / "README.md").read_text()
    for name in OPERATOR_CONFIGMAPS:
        assert name in readme, f"deploy/README.md must say how to create {name}"


@pytest.mark.parametrize(("folder", "workload"), workloads(), ids=workload_id)
def test_k8s_settings_validate_in_production(
    folder: str, workload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pod's environment, with the example Secrets: the real settings classes accept it (types, the
    # production guard), and it is a production configuration.
    settings = settings_from(folder, resolved_env(container_env(only_container(workload))), monkeypatch)
    assert settings.env.value == "production"
    assert settings.demo_data is False
    assert settings.migrate_on_start is False
    assert settings.log_json is True
    ingress = find(app_objects(), "Ingress", "gateway")
    (host,) = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert settings.issuer == f"https://{host}", "the issuer is the public URL the browser sees"
    assert [host] == [h for tls in ingress["spec"]["tls"] for h in tls["hosts"]]
    if folder == "gateway":
        assert set(settings.upstream_urls()) == set(SERVICES)
    else:
        assert settings.jwks_url == "http://gateway:8000/oauth2/jwks"
        assert settings.api_url == "http://gateway:8000"
        assert settings.database_url.startswith("postgresql+asyncpg://")
    if folder == "svc-document":
        hpa = find(app_objects(), "HorizontalPodAutoscaler", "document")
        # Replicas share no disk: with more than one, files must go to the object store.
        assert hpa["spec"]["minReplicas"] > 1
        assert settings.storage == "s3"
        assert settings.development_pki is False


def test_k8s_urls_name_a_service_and_its_port_or_the_public_host() -> None:
    objects = app_objects()
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    ingress = find(objects, "Ingress", "gateway")
    (host,) = {rule["host"] for rule in ingress["spec"]["rules"]}
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert backend["port"]["name"] in {p["name"] for p in services["gateway"]["spec"]["ports"]}
    urls = [
        (key, value)
        for data in configmaps().values()
        for key, value in data.items()
        if re.match(r"^[a-z][a-z0-9+.-]*://", str(value))
    ]
    assert len(urls) >= len(SERVICES) + 2
    for key, url in urls:
        parts = urlsplit(url)
        if key in PUBLIC_URL_SETTINGS:
            assert parts.hostname == host, f"{key}={url}: not the public host"
        elif "." in (parts.hostname or ""):
            assert parts.scheme == "https", f"{key}={url}: an external system over plain HTTP"
        else:
            assert parts.hostname in services, f"{key}={url}: no Service {parts.hostname}"
            ports = {p["port"] for p in services[parts.hostname]["spec"]["ports"]}
            assert parts.port in ports, f"{key}={url}: the Service has no such port"


def test_k8s_image_tags_are_one_release_in_both_kustomizations() -> None:
    def tags(directory: Path) -> dict[str, str]:
        return {image["name"]: str(image["newTag"]) for image in kustomization(directory)["images"]}

    app, migrations = tags(K8S), tags(K8S / "migrations")
    used = {only_container(o)["image"] for o in app_objects() if o["kind"] == "Deployment"}
    assert set(app) == used
    assert set(migrations) == {only_container(o)["image"] for o in migration_objects()}
    assert migrations.items() <= app.items(), "the Jobs must migrate for the release the Deployments run"
    for folder, (dist, _) in APPS.items():
        version = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]["version"]
        assert app[dist] == version, f"{dist}: the tag is not {folder}'s version"
