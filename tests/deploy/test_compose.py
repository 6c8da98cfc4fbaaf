"""deploy/compose.yaml, deploy/Dockerfile and .dockerignore: valid, and consistent with the code.

No Docker engine is needed: the compose file is validated against the Compose Specification's JSON
schema (vendored by check-jsonschema), then checked against what the code says: every process of
tooling/processes.py runs from the one image after `migrate`, with a /readyz healthcheck on its
metrics port, where Prometheus's compose scrape config looks for it; the mounted files exist; the
published ports are the documented ones; the web front is published and reaches the APIs.
"""
from __future__ import annotations

import fnmatch
import importlib
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from services.config import PREFIX
from tooling.processes import SERVICES, WEB_FRONT, commands
from tooling.settings import SystemSettings
from web_front.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
SCRAPE_CONFIG = DEPLOY / "prometheus" / "prometheus-compose.yml"
PROCESSES = [name for name, _ in commands("python")]
WEB = "web"  # the web front's process
# The API host settings the web front reads -> the API process each names.
API_HOST_SETTING = {"intake_host": "intake-api", "desk_host": "approval-api", "supervision_host": "supervision-api",
                    "identity_host": "identity-api"}
INFRASTRUCTURE = {"rabbitmq", "postgres", "migrate", "prometheus", "alertmanager", "grafana"}
# gRPC ports of the APIs (services/config.py), the RabbitMQ management UI, Prometheus, Alertmanager, Grafana.
PUBLISHED = {"rabbitmq": 15672, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves the `<<` merge keys


def check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        pytest.fail("check-jsonschema is not installed: it is a test dependency (pip install check-jsonschema)",
                    pytrace=False)
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=120)


def test_the_compose_file_follows_the_compose_specification():
    done = check_jsonschema(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_bites(tmp_path):
    bad = tmp_path / "compose.yaml"
    bad.write_text(COMPOSE.read_text(encoding="utf-8").replace(
        "condition: service_completed_successfully", "condition: service_completed"), encoding="utf-8")
    done = check_jsonschema(bad)
    assert done.returncode != 0 and "depends_on" in done.stdout, done.stdout + done.stderr


def test_every_process_runs_from_the_one_image_after_migrate():
    services = compose()["services"]
    assert set(services) == set(PROCESSES) | INFRASTRUCTURE, sorted(services)
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert {k: v["condition"] for k, v in migrate["depends_on"].items()} == \
        {"rabbitmq": "service_healthy", "postgres": "service_healthy"}
    build = migrate["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT and (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    for name in PROCESSES:
        service = services[name]
        assert service["command"] == ["run", name], name
        assert service["image"] == migrate["image"] and service["build"] == build, name
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert service["restart"] in ("always", "unless-stopped"), name


def test_every_process_has_a_readiness_healthcheck_on_its_metrics_port():
    for name in PROCESSES:
        service = compose()["services"][name]
        port = service["environment"][f"{PREFIX}METRICS_PORT"]
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and f"http://127.0.0.1:{port}/readyz" in " ".join(test), (name, test)


def test_prometheus_scrapes_every_process_where_compose_runs_it():
    config = yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    scraped = {sc["labels"]["process"]: sc["targets"] for sc in jobs["onewindow"]["static_configs"]}
    services = compose()["services"]
    expected = {name: [f"{name}:{services[name]['environment'][f'{PREFIX}METRICS_PORT']}"] for name in PROCESSES}
    assert scraped == expected
    # queue depths from rabbitmq_prometheus, enabled in the broker's plugins file
    assert [t for sc in jobs["rabbitmq"]["static_configs"] for t in sc["targets"]] == ["rabbitmq:15692"]
    plugins = compose()["configs"]["rabbitmq-plugins"]["content"]
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins
    assert any(c["target"] == "/etc/rabbitmq/enabled_plugins" for c in services["rabbitmq"]["configs"])
    (am,) = config["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == ["alertmanager:9093"]


def mounts(service: dict) -> dict[str, tuple[str, bool]]:
    """container path -> (source, read-only) of a service's short-syntax volumes."""
    out = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        out[target] = (source, "ro" in mode)
    return out


def test_mounted_files_exist_and_named_volumes_are_declared():
    spec = compose()
    for name, service in spec["services"].items():
        for target, (source, _) in mounts(service).items():
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} (mounted at {target}) does not exist"
            else:
                assert source in spec["volumes"], f"{name}: volume {source} is not declared"
        for config in service.get("configs", []):
            assert config["source"] in spec["configs"], f"{name}: config {config['source']} is not declared"


def test_the_reference_data_is_mounted_read_only_where_the_configuration_points():
    for name in [*PROCESSES, "migrate"]:
        service = compose()["services"][name]
        mounted = mounts(service)
        for setting in ("org", "catalogue", "calendar", "staff", "rota"):
            path = service["environment"][f"{PREFIX}{setting.upper()}"]
            assert path in mounted, f"{name}: {PREFIX}{setting.upper()}={path} is not mounted"
            source, read_only = mounted[path]
            assert read_only and (DEPLOY / source).resolve() == (DEPLOY / f"{setting}.yaml").resolve(), name


def test_migrate_writes_the_tokens_that_the_apis_read():
    services = compose()["services"]
    # an API built on ApiWiring reads the tokens file (its credentials); the web front its own token
    readers = [f"{s.name}-api" for s in SERVICES if s.api and "ApiWiring.open" in api_source(s.api)]
    assert readers, "no API reads the department tokens?"
    if "settings.desk_tokens" in web_source():
        readers.append(WEB)
    tokens = PurePosixPath(services["migrate"]["environment"][f"{PREFIX}DESK_TOKENS"])
    volume, read_only = mounts(services["migrate"])[str(tokens.parent)]
    assert not read_only and not volume.startswith(".")  # a named volume, written by migrate
    for name in readers:
        assert services[name]["environment"][f"{PREFIX}DESK_TOKENS"] == str(tokens), name
        assert mounts(services[name]).get(str(tokens.parent)) == (volume, True), name
    for name in set(PROCESSES) - set(readers):  # the others have no business with the secrets
        assert all(source != volume for source, _ in mounts(services[name]).values()), name


def api_source(module: str) -> str:
    return (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")


def web_source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / WEB_FRONT).rglob("*.py"))


def test_migrate_writes_the_web_secret_where_the_web_front_reads_it():
    services = compose()["services"]
    secret = services["migrate"]["environment"][f"{PREFIX}WEB_SECRET"]
    assert services[WEB]["environment"][f"{PREFIX}WEB_SECRET"] == secret
    folder = str(PurePosixPath(secret).parent)
    volume, read_only = mounts(services["migrate"])[folder]
    assert not read_only and not volume.startswith(".")  # migrate writes it into a named volume
    assert mounts(services[WEB])[folder] == (volume, True)


def test_environment_variables_are_settings_the_code_reads():
    known = {f"{PREFIX}{name.upper()}" for name in SystemSettings.model_fields}
    packages = [ROOT / "services", *(ROOT / s.package for s in SERVICES)]
    source = "\n".join(p.read_text(encoding="utf-8") for package in packages for p in package.rglob("*.py"))
    for name in [*PROCESSES, "migrate"]:
        for variable in compose()["services"][name]["environment"]:
            assert variable in known or f'"{variable}"' in source, f"{name}: {variable} is read by nothing"


def published(service: dict) -> dict[int, int]:
    """container port -> host port of a service's short-syntax ports ("[ip:]host:container")."""
    out = {}
    for port in service.get("ports", []):
        *_, host, container = re.sub(r"\$\{[^}]*\}", "ip", str(port)).split(":")
        out[int(container)] = int(host)
    return out


def test_published_ports_are_the_documented_ones():
    services = compose()["services"]
    expected = {name: {port} for name, port in PUBLISHED.items()}
    for service in SERVICES:
        if service.api:
            setting = importlib.import_module(service.api).PORT_SETTING
            expected[f"{service.name}-api"] = {SystemSettings.model_fields[setting].default}
    expected[WEB] = {SystemSettings.model_fields["web_port"].default}
    got = {name: set(published(s)) for name, s in services.items() if s.get("ports")}
    assert got == expected
    for name, ports in got.items():
        assert all(published(services[name])[p] == p for p in ports), name  # same number on the host


def test_the_web_front_is_published_and_reaches_the_apis():
    services = compose()["services"]
    web = services[WEB]
    env = web["environment"]
    port = int(env[f"{PREFIX}WEB_PORT"])
    assert published(web) == {port: port}, "the pages on the same port on the host"
    for setting, process in API_HOST_SETTING.items():
        host = env[f"{PREFIX}{setting.upper()}"]
        assert services[host]["command"] == ["run", process], setting  # a compose service name is its host
        assert web["depends_on"][host] == {"condition": "service_healthy"}, f"{WEB} waits for {host}"
    for setting in ("PUBLIC_URL", "WEB_TRUSTED_PROXIES"):
        assert f"${{{PREFIX}{setting}:-" in COMPOSE.read_text(encoding="utf-8"), f"{setting} is set from deploy/.env"
    defaults = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()
                if k.startswith(PREFIX + "WEB") or k == f"{PREFIX}PUBLIC_URL"}
    assert defaults[f"{PREFIX}PUBLIC_URL"].startswith(("http://", "https://"))
    WebSettings._networks(defaults[f"{PREFIX}WEB_TRUSTED_PROXIES"])
    assert f"{PREFIX}WEB_TLS_CERT" not in env, "an empty path is not a setting: TLS goes in an override file"
    # the other processes have no business with the web front's settings
    for name in set(PROCESSES) - {WEB}:
        assert f"{PREFIX}PUBLIC_URL" not in services[name]["environment"], name


def test_prometheus_alertmanager_and_grafana_read_the_repository_files():
    services = compose()["services"]
    prometheus = services["prometheus"]
    config = next(a.split("=", 1)[1] for a in prometheus["command"] if a.startswith("--config.file="))
    mounted = mounts(prometheus)
    assert (DEPLOY / mounted[config][0]).resolve() == SCRAPE_CONFIG
    for rules in yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))["rule_files"]:
        inside = str(PurePosixPath(config).parent / rules)  # rule files resolve beside the config
        assert inside in mounted, f"{rules} is not mounted beside {config}"
        assert (DEPLOY / mounted[inside][0]).resolve() == (SCRAPE_CONFIG.parent / rules).resolve()

    alertmanager = services["alertmanager"]
    config = next(a.split("=", 1)[1] for a in alertmanager["command"] if a.startswith("--config.file="))
    assert (DEPLOY / mounts(alertmanager)[config][0]).resolve() == DEPLOY / "alertmanager" / "alertmanager.yml"

    grafana = mounts(services["grafana"])
    assert (DEPLOY / grafana["/etc/grafana/provisioning"][0]).resolve() == DEPLOY / "grafana" / "provisioning"
    providers = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/onewindow.yml").read_text())["providers"]
    (path,) = [p["options"]["path"] for p in providers]
    assert (DEPLOY / grafana[path][0]).resolve() == DEPLOY / "grafana" / "dashboards"
    (source,) = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"


def test_no_password_is_written_in_the_compose_file():
    text = COMPOSE.read_text(encoding="utf-8")
    for variable in ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        uses = re.findall(r"\$\{" + variable + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), f"{variable} must be required, with no default"


# ---------------------------------------------------------------- the image

def dockerfile() -> list[str]:
    """Instructions of deploy/Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_image_is_slim_python_3_11_non_root_with_the_cli_as_entrypoint():
    lines = dockerfile()
    assert lines[0] == "FROM python:3.11-slim-bookworm"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert [line for line in lines if line.startswith("ENTRYPOINT")] == ['ENTRYPOINT ["/app/.venv/bin/onewindow"]']
    steps = [step.strip() for line in lines if line.startswith("RUN ") for step in line[4:].split("&&")]
    installs = [step for step in steps if step.startswith("pip install") and re.search(r" (-r|-e) ", step)]
    assert installs and all("-c requirements.lock" in step for step in installs), installs
    assert any("grpc_tools.protoc" in line for line in lines), "the gRPC code is not generated"


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` (relative to the context) out: a pattern matches it or a parent."""
    parts = PurePosixPath(path).parts
    for pattern in patterns:
        assert not pattern.startswith("!"), "exceptions are not handled here"
        for candidate in (pattern, pattern.removeprefix("**/")):
            if any(fnmatch.fnmatchcase("/".join(parts[:i]), candidate) for i in range(1, len(parts) + 1)):
                return True
    return False


def test_the_build_context_leaves_out_secrets_and_keeps_what_the_image_needs():
    patterns = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".venv/bin/python", ".git/HEAD", ".secrets/desk-tokens.yaml", "deploy/.env", ".env",
                 "services/__pycache__/x.pyc", "onewindow.egg-info/PKG-INFO"):
        assert dockerignored(path, patterns), f"{path} would be sent to the image build"
    needed = ["pyproject.toml", "requirements.lock", "README.md", "deploy/org.yaml", "deploy/catalogue.yaml",
              "deploy/calendar.yaml", *[str(p.relative_to(ROOT)) for p in (ROOT / "proto").rglob("*.proto")]]
    for package in [*(s.package for s in SERVICES), "services", "hall", "tooling", WEB_FRONT]:
        needed += [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts]
    left_out = [p for p in needed if dockerignored(p, patterns)]
    assert not left_out, f".dockerignore leaves out what the image needs: {left_out}"
