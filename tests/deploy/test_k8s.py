"""The k8s/ manifests: rendered by the real `kubectl kustomize`, validated offline, and wired to
what the processes actually do.

Core objects are checked with kubernetes-validate (strict: an unknown field fails) against the
oldest Kubernetes the manifests claim and the newest the package knows; the operators' custom
resources with jsonschema against the schema excerpts in k8s/schemas/. Then the wiring: every
process of tooling/processes.py has its Deployment, Service, autoscaler and disruption budget;
probes follow the health contract; pods meet the `restricted` Pod Security Standard; every
ConfigMap and Secret a pod names exists; the web front is reached through an Ingress with TLS and
reaches the APIs through their Services; the alert rules and the reference data are those of
deploy/; the database has room for every copy.

Needs `kubectl` (with kustomize v5); without it these tests fail rather than skip.
"""
from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tooling.processes import commands
from tooling.settings import SystemSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
RENDERINGS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
# grpc probes are GA from 1.27; 1.37 is the newest kubernetes-validate 1.37.0 knows.
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")
CORE_KINDS = {"Namespace", "ConfigMap", "Secret", "Service", "Deployment", "Job",
              "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "NetworkPolicy"}
SCHEMAS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmq.com/rabbitmqcluster_v1beta1.yaml",
    ("rabbitmq.com/v1beta1", "Policy"): "rabbitmq.com/policy_v1beta1.yaml",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io/cluster_v1.yaml",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "postgresql.cnpg.io/scheduledbackup_v1.yaml",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/servicemonitor_v1.yaml",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/prometheusrule_v1.yaml",
}

PROCESSES = [name for name, _ in commands("python")]
# API process -> the setting of its gRPC port (services/config.py).
GRPC_PORT_SETTING = {"intake-api": "intake_port", "approval-api": "desk_port", "supervision-api": "supervision_port",
                     "identity-api": "identity_port"}
# The web front: its pages' port setting (web_front/settings.py), the API host settings it reads
# (services/config.py, web_front/settings.py) -> the API process each names.
WEB = "web"
WEB_PORT_SETTING = "web_port"
API_HOST_SETTING = {"intake_host": "intake-api", "desk_host": "approval-api", "supervision_host": "supervision-api",
                    "identity_host": "identity-api"}
METRICS_PORT = 9100
STOP_SECONDS = 10  # every process stops within 10 s of SIGTERM (docs/operations.md, section 5)
# The Secrets the installer makes by hand (k8s/README.md); no rendering may contain them.
INSTALLER_SECRETS = {"onewindow-desk-tokens", "onewindow-signing-keys", "onewindow-web-secret"}
# The Ingress's certificate: `kubectl create secret tls` by the installer, or cert-manager's.
TLS_SECRETS = {"onewindow-web-tls"}
# Volume types the `restricted` Pod Security Standard allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}
# Connections that are not the processes' pools: superuser_reserved_connections (3), the
# standbys' replication, the metrics exporter, the migrate Job, an operator's psql.
DB_CONNECTION_RESERVE = 20


# --- rendering ---------------------------------------------------------------------------------

def kubectl() -> str:
    exe = shutil.which("kubectl")
    if exe is None:
        pytest.fail("kubectl is not installed: the k8s/ manifests cannot be rendered. Install a kubectl "
                    ">= 1.27 (kustomize v5), e.g. from https://pkgs.k8s.io (Debian's kubernetes-client "
                    "1.20 is too old)", pytrace=False)
    version = json.loads(subprocess.run([exe, "version", "--client", "-o", "json"], capture_output=True,
                                        text=True, timeout=30, check=True).stdout)
    kustomize = version.get("kustomizeVersion", "")
    major = re.match(r"v(\d+)\.", kustomize)
    if not major or int(major.group(1)) < 5:
        pytest.fail(f"kubectl {version['clientVersion']['gitVersion']} embeds kustomize {kustomize or '(none)'}: "
                    "k8s/ needs kustomize v5 (kubectl >= 1.27)", pytrace=False)
    return exe


@functools.cache
def render(name: str) -> tuple[dict, ...]:
    # The load restrictor is off because the reference data's single source is deploy/ (k8s/README.md).
    done = subprocess.run([kubectl(), "kustomize", "--load-restrictor", "LoadRestrictionsNone",
                           str(RENDERINGS[name])], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl kustomize {RENDERINGS[name]} failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@pytest.fixture(params=sorted(RENDERINGS), scope="module")
def objects(request) -> tuple[dict, ...]:
    return copy.deepcopy(render(request.param))


@pytest.fixture(scope="module")
def production() -> tuple[dict, ...]:
    return copy.deepcopy(render("production"))


def of_kind(objects, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def one(objects, kind: str, name: str | None = None) -> dict:
    found = [o for n, o in of_kind(objects, kind).items() if name is None or n == name]
    assert len(found) == 1, f"expected one {kind}{f' {name}' if name else ''}, found {len(found)}"
    return found[0]


def component(obj: dict) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


def deployments(objects) -> dict[str, dict]:
    """process name -> its Deployment."""
    return {component(d): d for d in of_kind(objects, "Deployment").values()}


def container(workload: dict) -> dict:
    (main,) = [c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == "onewindow"]
    return main


def settings(objects) -> dict[str, str]:
    """The ONEWINDOW_* ConfigMap every process reads (envFrom)."""
    (ref,) = container(one(objects, "Job"))["envFrom"]
    return one(objects, "ConfigMap", ref["configMapRef"]["name"])["data"]


@functools.cache
def schema(relative: str) -> dict:
    return yaml.safe_load((K8S / "schemas" / relative).read_text(encoding="utf-8"))


def schema_errors(obj: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema(SCHEMAS[obj["apiVersion"], obj["kind"]]))
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(obj)]


def quantity(value) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()
    return float(number) * units.get(unit, 1)


# --- validity ----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_object_is_valid_kubernetes(objects, version):
    errors = []
    for obj in objects:
        if obj["kind"] not in CORE_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {'.'.join(map(str, exc.path))}: {exc.message}")
    assert not errors, f"invalid for Kubernetes {version}:\n" + "\n".join(errors)


def test_every_custom_resource_matches_its_operators_schema(objects):
    unknown = [f"{o['apiVersion']} {o['kind']}" for o in objects
               if o["kind"] not in CORE_KINDS and (o["apiVersion"], o["kind"]) not in SCHEMAS]
    assert not unknown, f"no schema to validate these against (add an excerpt to k8s/schemas/): {unknown}"
    errors = [f"{o['kind']}/{o['metadata']['name']}: {error}"
              for o in objects if (o["apiVersion"], o["kind"]) in SCHEMAS for error in schema_errors(o)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("relative", sorted(set(SCHEMAS.values())))
def test_schema_excerpts_are_schemas_that_say_where_they_come_from(relative):
    jsonschema.Draft202012Validator.check_schema(schema(relative))
    header = (K8S / "schemas" / relative).read_text(encoding="utf-8").split("\n$comment", 1)[0]
    for needed in ("Source: github.com/", "Used by tests/deploy/test_k8s.py"):
        assert needed in header, f"k8s/schemas/{relative}: the header comment should name {needed!r}"
    assert re.search(r"commit\s+(#\s*)?[0-9a-f]{40}\b", header), f"k8s/schemas/{relative}: name the source commit"


def test_the_validation_bites():
    objects = render("base")
    misspelt = copy.deepcopy(one(objects, "Deployment", "onewindow-intake-bus"))
    container(misspelt)["readinesProbe"] = container(misspelt).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[-1], strict=True)

    wrong_type = copy.deepcopy(one(objects, "HorizontalPodAutoscaler", "onewindow-intake-bus"))
    wrong_type["spec"]["minReplicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSIONS[-1], strict=True)

    rabbitmq = copy.deepcopy(one(objects, "RabbitmqCluster"))
    rabbitmq["spec"]["replica"] = 3
    assert any("replica" in e for e in schema_errors(rabbitmq))

    postgres = copy.deepcopy(one(objects, "Cluster"))
    postgres["spec"]["bootstrap"]["initdb"]["databse"] = postgres["spec"]["bootstrap"]["initdb"].pop("database")
    assert any("databse" in e for e in schema_errors(postgres))

    monitor = copy.deepcopy(one(objects, "ServiceMonitor", "onewindow"))
    monitor["spec"]["endpoints"][0]["relabelings"][0]["action"] = "rename"
    assert schema_errors(monitor)

    policy = copy.deepcopy(one(objects, "Policy"))
    policy["spec"]["applyTo"] = "quorum-queues"
    assert schema_errors(policy)


# --- every process, and what it needs ------------------------------------------------------------

def test_every_process_has_a_deployment_service_autoscaler_and_disruption_budget(objects):
    by_process = deployments(objects)
    assert sorted(by_process) == sorted(PROCESSES), "one Deployment per process of tooling/processes.py"
    services, autoscalers, budgets = (of_kind(objects, k) for k in
                                      ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"))
    for process, deployment in by_process.items():
        name = deployment["metadata"]["name"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pod_labels == {"app.kubernetes.io/name": "onewindow", "app.kubernetes.io/component": process}, name
        assert container(deployment)["args"] == ["run", process], f"{name} must run `onewindow run {process}`"

        (hpa,) = [h for h in autoscalers.values() if h["spec"]["scaleTargetRef"]["name"] == name]
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert "replicas" not in deployment["spec"], f"{name}: the autoscaler owns the replica count"

        (pdb,) = [p for p in budgets.values() if p["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()]
        assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable") == 1

        (service,) = [s for s in services.values() if s["spec"]["selector"].items() <= pod_labels.items()]
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        container_ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
        assert ports["metrics"]["targetPort"] == "metrics" and container_ports["metrics"] == METRICS_PORT
        if process in GRPC_PORT_SETTING:
            assert ports["grpc"]["targetPort"] == "grpc" and "grpc" in container_ports
        if process == WEB:
            assert ports["http"]["targetPort"] == "http"
            assert container_ports["http"] == SystemSettings.model_fields[WEB_PORT_SETTING].default


def test_the_service_monitor_scrapes_every_process_as_alerts_yml_expects(objects):
    monitor = one(objects, "ServiceMonitor", "onewindow")["spec"]
    services = [s for s in of_kind(objects, "Service").values()
                if monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
    assert sorted(component(s) for s in services) == sorted(PROCESSES)
    (endpoint,) = monitor["endpoints"]
    assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in services)
    assert endpoint["path"] == "/metrics"
    # alerts.yml selects job="onewindow" and names targets by their `process` label
    assert {s["metadata"]["labels"][monitor["jobLabel"]] for s in services} == {"onewindow"}
    relabel = {r.get("targetLabel"): r for r in endpoint["relabelings"]}
    assert relabel["process"]["sourceLabels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
    # the operator's service=<Service> target label would shadow the processes' own `service` label
    assert {"action": "labeldrop", "regex": "service"} in endpoint["relabelings"]


def test_probes_follow_the_health_contract(objects):
    for process, deployment in deployments(objects).items():
        main = container(deployment)
        for probe in ("startupProbe", "livenessProbe"):
            assert main[probe]["httpGet"] == {"path": "/livez", "port": "metrics"}, f"{process} {probe}"
        readiness = main["readinessProbe"]
        if process in GRPC_PORT_SETTING:
            grpc_port = SystemSettings.model_fields[GRPC_PORT_SETTING[process]].default
            assert readiness["grpc"] == {"port": grpc_port}, f"{process}: grpc.health.v1 on its gRPC port"
            assert {"name": "grpc", "containerPort": grpc_port} in main["ports"]
        else:
            assert readiness["httpGet"] == {"path": "/readyz", "port": "metrics"}, process


def test_pods_are_locked_down_sized_and_stop_in_time(objects):
    workloads = list(of_kind(objects, "Deployment").values()) + list(of_kind(objects, "Job").values())
    for workload in workloads:
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= STOP_SECONDS + 3, f"{name}: SIGKILL before the process stops"
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False, name
        for c in pod["containers"]:
            security = c["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            for resource in ("cpu", "memory"):
                request, limit = c["resources"]["requests"][resource], c["resources"]["limits"][resource]
                assert quantity(request) <= quantity(limit), f"{name}: {resource} request {request} > limit {limit}"


def restricted_violations(pod: dict) -> list[str]:
    """What breaks the `restricted` Pod Security Standard (kubernetes.io/docs/concepts/security/
    pod-security-standards) in a pod spec."""
    out = []
    security = pod.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            out.append(key)
    out += [f"volume {v['name']}: {set(v) - {'name'}}" for v in pod.get("volumes", [])
            if not set(v) - {"name"} <= RESTRICTED_VOLUMES]
    for c in [*pod["containers"], *pod.get("initContainers", [])]:
        mine = c.get("securityContext", {})
        if not mine.get("runAsNonRoot", security.get("runAsNonRoot")):
            out.append(f"{c['name']}: runAsNonRoot")
        if mine.get("runAsUser", security.get("runAsUser")) == 0:
            out.append(f"{c['name']}: runAsUser 0")
        seccomp = mine.get("seccompProfile", security.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{c['name']}: seccompProfile {seccomp}")
        if mine.get("allowPrivilegeEscalation") is not False:
            out.append(f"{c['name']}: allowPrivilegeEscalation")
        if mine.get("privileged"):
            out.append(f"{c['name']}: privileged")
        if "ALL" not in mine.get("capabilities", {}).get("drop", []) \
                or set(mine.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            out.append(f"{c['name']}: capabilities")
        if any(p.get("hostPort") for p in c.get("ports", [])):
            out.append(f"{c['name']}: hostPort")
    return out


def test_every_pod_meets_the_restricted_pod_security_standard(objects):
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    violations = [f"{w['metadata']['name']}: {v}" for w in workloads
                  for v in restricted_violations(w["spec"]["template"]["spec"])]
    assert not violations, "\n".join(violations)


def test_the_restricted_check_bites():
    pod = copy.deepcopy(one(render("base"), "Deployment", "onewindow-web")["spec"]["template"]["spec"])
    pod["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_RAW"]
    pod["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    pod["securityContext"].pop("seccompProfile")
    assert len(restricted_violations(pod)) == 3, restricted_violations(pod)


def test_the_web_front_runs_read_only_with_the_others_security_context(objects):
    web, api = one(objects, "Deployment", "onewindow-web"), one(objects, "Deployment", "onewindow-intake-api")
    pod, api_pod = web["spec"]["template"]["spec"], api["spec"]["template"]["spec"]
    assert pod["securityContext"] == api_pod["securityContext"]
    assert container(web)["securityContext"] == container(api)["securityContext"]
    assert container(web)["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    # nothing writable but the /tmp emptyDir every pod has; the secrets and the reference read-only
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = [m for m in container(web)["volumeMounts"] if not m.get("readOnly")]
    assert [(m["mountPath"], set(volumes[m["name"]]) - {"name"}) for m in writable] == [("/tmp", {"emptyDir"})]
    # its link key: the installer's Secret, mounted where ONEWINDOW_WEB_SECRET points, on no other pod
    folder, _, file = settings(objects)["ONEWINDOW_WEB_SECRET"].rpartition("/")
    (mount,) = [m for m in container(web)["volumeMounts"] if m["mountPath"] == folder]
    secret = volumes[mount["name"]]["secret"]["secretName"]
    assert secret in INSTALLER_SECRETS
    assert f"create secret generic {secret} --from-file={file}=" in (K8S / "README.md").read_text(encoding="utf-8")
    for other in of_kind(objects, "Deployment").values():
        if other is not web:
            assert all(v.get("secret", {}).get("secretName") != secret
                       for v in other["spec"]["template"]["spec"]["volumes"]), other["metadata"]["name"]


def test_the_web_front_stops_within_its_grace_period(objects):
    from web_front.run import STOP_GRACE_SECONDS

    web = one(objects, "Deployment", "onewindow-web")
    pre_stop = container(web)["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep", "the pause while the Ingress controller drops the pod"
    assert int(pre_stop[1]) + STOP_GRACE_SECONDS + 3 <= web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_an_ingress_with_tls_routes_to_the_web_service(objects):
    ingress = one(objects, "Ingress")["spec"]
    web = one(objects, "Deployment", "onewindow-web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    (service,) = [s for s in of_kind(objects, "Service").values() if s["spec"]["selector"].items() <= pod_labels.items()]
    hosts = {rule["host"] for rule in ingress["rules"]}
    assert hosts and ingress.get("ingressClassName")
    for rule in ingress["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"], path
            (port,) = [p for p in service["spec"]["ports"] if p["name"] == backend["port"].get("name")
                       or p["port"] == backend["port"].get("number")]
            assert port["targetPort"] == "http", "the pages, not the metrics"
    assert all(t["secretName"] in TLS_SECRETS for t in ingress["tls"])
    assert hosts <= {host for t in ingress["tls"] for host in t["hosts"]}, "every host served over TLS"
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    assert all(f"create secret tls {name}" in readme for name in TLS_SECRETS)
    assert not TLS_SECRETS & set(of_kind(objects, "Secret")), "no certificate ships in k8s/"
    # the links in the QR codes name the address the Ingress serves
    data = settings(objects)
    assert data["ONEWINDOW_PUBLIC_URL"] in {f"https://{host}" for host in hosts}


def test_only_the_ingress_controller_reaches_the_pages(objects):
    web = one(objects, "Deployment", "onewindow-web")
    (policy,) = [p for p in of_kind(objects, "NetworkPolicy").values()
                 if p["spec"]["podSelector"]["matchLabels"].items() <= web["spec"]["template"]["metadata"]["labels"].items()]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    for rule in policy["spec"]["ingress"]:
        ports = {p["port"] for p in rule["ports"]}
        if "http" in ports:  # the pages: from the controller's namespace alone
            assert rule["from"] and all(set(peer) == {"namespaceSelector"} for peer in rule["from"]), rule
        else:
            assert ports == {"metrics"}, rule  # Prometheus and the probes


def test_the_web_front_reaches_the_apis_through_their_services(objects):
    from web_front.settings import WebSettings

    data = settings(objects)
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service").values()}
    for setting, process in API_HOST_SETTING.items():
        service = services[data[f"ONEWINDOW_{setting.upper()}"]]
        assert component(service) == process, setting
        port = int(data[f"ONEWINDOW_{GRPC_PORT_SETTING[process].upper()}"])
        assert any(p["name"] == "grpc" and p["port"] == port for p in service["spec"]["ports"]), setting
    web = one(objects, "Deployment", "onewindow-web")
    http = {p["name"]: p["containerPort"] for p in container(web)["ports"]}["http"]
    assert data[f"ONEWINDOW_{WEB_PORT_SETTING.upper()}"] == str(http)
    assert int(data["ONEWINDOW_WEB_DB_POOL_SIZE"]) >= 1
    # the trusted proxies are networks the web front accepts (its own validator)
    WebSettings._networks(data["ONEWINDOW_WEB_TRUSTED_PROXIES"])
    assert data["ONEWINDOW_WEB_TRUSTED_PROXIES"], "the Ingress controller is a proxy to trust"


def test_the_migrate_job_migrates_without_writing_tokens(objects):
    job = one(objects, "Job")
    assert container(job)["args"] == ["migrate", "--no-tokens"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    assert container(job)["image"] == container(one(objects, "Deployment", "onewindow-intake-bus"))["image"]


def test_settings_agree_with_ports_and_mounts(objects):
    data = settings(objects)
    assert data["ONEWINDOW_METRICS_PORT"] == str(METRICS_PORT)
    for process, setting in GRPC_PORT_SETTING.items():
        assert data[f"ONEWINDOW_{setting.upper()}"] == str(SystemSettings.model_fields[setting].default), process
    unknown = {key for key in data if key.removeprefix("ONEWINDOW_").lower() not in SystemSettings.model_fields}
    assert unknown <= {"ONEWINDOW_LOG_LEVEL"}, f"settings services/config.py does not know: {unknown}"

    api = one(objects, "Deployment", "onewindow-intake-api")
    pod = api["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in container(api)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    reference = one(objects, "ConfigMap", volumes["reference"]["configMap"]["name"])
    for setting in ("ONEWINDOW_ORG", "ONEWINDOW_CATALOGUE", "ONEWINDOW_CALENDAR"):
        folder, _, file = data[setting].rpartition("/")
        assert folder == mounts["reference"] and file in reference["data"], setting
    # the staff register and the duty rota: re-read when edited, so in a ConfigMap without a content hash
    staff = one(objects, "ConfigMap", volumes["staff"]["configMap"]["name"])
    for setting in ("ONEWINDOW_STAFF", "ONEWINDOW_ROTA"):
        folder, _, file = data[setting].rpartition("/")
        assert folder == mounts["staff"], setting
        assert staff["data"][file].encode("utf-8") == (ROOT / "deploy" / file).read_bytes(), setting
    folder, _, file = data["ONEWINDOW_DESK_TOKENS"].rpartition("/")
    assert folder == mounts["desk-tokens"] and volumes["desk-tokens"]["secret"]["secretName"] in INSTALLER_SECRETS
    assert f"--from-file={file}=" in (K8S / "README.md").read_text(encoding="utf-8"), \
        f"k8s/README.md should show how to make the Secret with the key {file}"


def test_every_config_map_and_secret_a_pod_names_exists(objects):
    config_maps = set(of_kind(objects, "ConfigMap"))
    secrets = set(of_kind(objects, "Secret")) | INSTALLER_SECRETS
    # the operators write these: <RabbitmqCluster>-default-user and <CloudNativePG Cluster>-app
    secrets |= {f"{name}-default-user" for name in of_kind(objects, "RabbitmqCluster")}
    secrets |= {f"{name}-app" for name in of_kind(objects, "Cluster")}
    assert not INSTALLER_SECRETS & set(of_kind(objects, "Secret")), "department tokens never ship in k8s/"
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    assert all(f"create secret generic {name}" in readme for name in INSTALLER_SECRETS)

    missing = []
    for workload in [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]:
        pod, name = workload["spec"]["template"]["spec"], workload["metadata"]["name"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                missing.append(f"{name}: ConfigMap {volume['configMap']['name']}")
            if "secret" in volume and volume["secret"]["secretName"] not in secrets:
                missing.append(f"{name}: Secret {volume['secret']['secretName']}")
        for c in pod["containers"]:
            for source in c.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in config_maps:
                    missing.append(f"{name}: ConfigMap {source['configMapRef']['name']}")
                if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                    missing.append(f"{name}: Secret {source['secretRef']['name']}")
            for var in c.get("env", []):
                ref = var.get("valueFrom", {})
                if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in config_maps:
                    missing.append(f"{name}: ConfigMap {ref['configMapKeyRef']['name']}")
                if "secretKeyRef" in ref and ref["secretKeyRef"]["name"] not in secrets:
                    missing.append(f"{name}: Secret {ref['secretKeyRef']['name']}")
    assert not missing, "\n".join(missing)


def test_broker_and_database_urls_come_from_the_operators_secrets(objects):
    rabbitmq, postgres = one(objects, "RabbitmqCluster"), one(objects, "Cluster")
    assert postgres["spec"]["bootstrap"]["initdb"]["database"] == "onewindow", "the database in the app URI"
    for workload in [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]:
        env = container(workload)["env"]
        names = [v["name"] for v in env]
        by_name = {v["name"]: v for v in env}
        assert by_name["ONEWINDOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{postgres['metadata']['name']}-app", "key": "uri"}
        url = by_name["ONEWINDOW_AMQP_URL"]["value"]
        assert url.startswith("amqp://") and url.endswith("/"), url  # "/": the default virtual host
        used = re.findall(r"\$\(([A-Z_]+)\)", url)
        assert used, url
        for var in used:  # $(VAR) only expands variables defined earlier in the list
            assert names.index(var) < names.index("ONEWINDOW_AMQP_URL"), var
            ref = by_name[var]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == f"{rabbitmq['metadata']['name']}-default-user"
            assert ref["key"] in {"username", "password", "host", "port"}


# --- single sources in deploy/ ---------------------------------------------------------------------

def test_the_reference_config_map_is_deploy_byte_for_byte(objects):
    pod = one(objects, "Deployment", "onewindow-intake-bus")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "reference"]
    data = one(objects, "ConfigMap", volume["configMap"]["name"])["data"]
    assert sorted(data) == ["calendar.yaml", "catalogue.yaml", "org.yaml"]
    for key, text in data.items():
        assert text.encode("utf-8") == (ROOT / "deploy" / key).read_bytes(), f"deploy/{key} differs"


def test_the_prometheus_rule_is_alerts_yml(objects):
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    rule = one(objects, "PrometheusRule")
    assert rule["spec"]["groups"] == alerts["groups"], \
        "k8s/base/prometheusrule.yaml must carry exactly the groups of deploy/prometheus/alerts.yml"


# --- capacity and availability ---------------------------------------------------------------------

def test_the_database_has_a_connection_for_every_copy(objects):
    data = settings(objects)
    pool = {"bus": int(data["ONEWINDOW_DB_POOL_SIZE"]), "api": int(data["ONEWINDOW_API_DB_POOL_SIZE"]),
            WEB: int(data["ONEWINDOW_WEB_DB_POOL_SIZE"])}
    autoscalers = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler").values()}
    needed = DB_CONNECTION_RESERVE
    for process, deployment in deployments(objects).items():
        copies = autoscalers[deployment["metadata"]["name"]]["spec"]["maxReplicas"]
        # + its LISTEN connection (bus, API); the web front's + 1 is its readiness check's
        needed += copies * (pool[process.rsplit("-", 1)[-1]] + 1)
    available = int(one(objects, "Cluster")["spec"]["postgresql"]["parameters"]["max_connections"])
    assert needed <= available, f"{needed} connections at the autoscalers' maximum, max_connections {available}"


def test_production_runs_at_least_two_of_everything(production):
    assert {o["metadata"].get("namespace") for o in production if o["kind"] != "Namespace"} == {"onewindow"}
    for hpa in of_kind(production, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
    assert one(production, "RabbitmqCluster")["spec"]["replicas"] == 3
    assert one(production, "Cluster")["spec"]["instances"] == 3
    images = {c["image"] for w in [*of_kind(production, "Deployment").values(), *of_kind(production, "Job").values()]
              for c in w["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1 and re.fullmatch(r".+/onewindow:[\w.-]+", images.pop()), "one tagged image for all"


def test_every_queue_is_a_quorum_queue_that_never_drops_a_message(objects):
    rabbitmq = one(objects, "RabbitmqCluster")
    assert "default_queue_type = quorum" in rabbitmq["spec"]["rabbitmq"]["additionalConfig"].splitlines()
    major = re.search(r":(\d+)\.", rabbitmq["spec"]["image"])
    assert major and int(major.group(1)) >= 4, "default_queue_type with a classic fallback needs RabbitMQ 4"
    policy = one(objects, "Policy")["spec"]
    assert policy["rabbitmqClusterReference"]["name"] == rabbitmq["metadata"]["name"]
    assert (policy["pattern"], policy["applyTo"]) == (".*", "quorum_queues")
    assert policy["definition"] == {"delivery-limit": -1}
