"""The Grafana dashboards and the monitoring configuration of deploy/compose.yaml hold together.

A real Prometheus (Debian's `prometheus` package) runs the compose scrape config with its targets
pointed at a stand-in exporter that serves every metric the project defines, under the names,
types and label names read from the project's source. There, every PromQL expression of every
dashboard must evaluate and find series, and every alert rule must evaluate cleanly. Also checked:
datasources, uids, that every metric named is one the project defines or a known external family,
and the Alertmanager configuration (`amtool`). Missing binaries fail the tests rather than skip them.
"""
from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

from tests.support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources"
SCRAPE_CONFIG = DEPLOY / "prometheus" / "prometheus-compose.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
# Where the project's metrics are defined (prometheus_client constructors and collector families).
METRIC_SOURCES = [ROOT / "services" / "metrics.py", ROOT / "supervision_svc" / "gauges.py"]
# Series the project does not define: rabbitmq_prometheus, prometheus_client's process collector,
# Prometheus's own scrape and alert series.
EXTERNAL_PREFIXES = ("rabbitmq_", "process_")
EXTERNAL_NAMES = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
# The receiver of each severity used in alerts.yml.
RECEIVERS = {"page": "pager", "ticket": "tickets"}

# Grafana's built-in variables, as durations Prometheus accepts; `$__range_s` before `$__range`.
BUILTIN = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__range_s": "3600",
           "__range_ms": "3600000", "__interval_ms": "15000"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")

# Label values of the stand-in series: those the code and its docs name (outcomes in metrics.py,
# colours and states in gauges.py, levels in the supervision schema); a few of each suffice.
LABEL_VALUES = {
    "service": ["intake", "routing", "approval", "notify", "supervision"],
    "handler": ["on_case_submitted", "on_task_decided"],
    "outcome": ["done", "duplicate", "retried", "dead_lettered", "sent", "dead"],
    "api": ["intake", "desk", "supervision"],
    "method": ["Submit", "ListTasks"],
    "code": ["OK", "INVALID_ARGUMENT", "INTERNAL", "UNAVAILABLE"],
    "notice": ["case_accepted"],
    "channel": ["sms", "email"],
    "level": ["village", "township", "county"],
    "state": ["running", "paused", "in_time", "overdue"],
    "colour": ["yellow", "red"],
    "step": ["case", "task", "complaint"],
    "kind": ["accepted_twice", "late_transfer"],
    "figure": ["on_time_ratio", "on_site_ratio", "satisfaction_ratio", "days_used_ratio", "accepted", "concluded",
               "ratings", "dissatisfied", "rectified"],
    "department": ["water", "land"],
    "window": ["county-desk", "county-window-civil-affairs"],  # organisations of the org chart
}
QUEUES = ["routing.on_case_submitted", "approval.on_case_routed", "onewindow.dead_letters"]


# ---------------------------------------------------------------- the project's metrics

CONSTRUCTORS = {"Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary",
                "GaugeMetricFamily": "gauge", "CounterMetricFamily": "counter", "_gauge": "gauge"}
SUFFIXES = {"counter": ("", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created")}


def _strings(node) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) for e in node.elts):
        return [e.value for e in node.elts]
    return None


def project_metrics() -> dict[str, tuple[str, list[str]]]:
    """name -> (type, label names) of every metric defined in METRIC_SOURCES. Names built in a loop
    (the month's ratios) are string constants that look like metric names: label-less gauges."""
    metrics: dict[str, tuple[str, list[str]]] = {}
    for source in METRIC_SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"onewindow_[a-z0-9_]+", node.value):
                metrics.setdefault(node.value, ("gauge", []))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if func not in CONSTRUCTORS or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            labels = next((_strings(k.value) for k in node.keywords if k.arg in ("labels", "labelnames")), None)
            if labels is None and len(node.args) > 2:
                labels = _strings(node.args[2])
            metrics[node.args[0].value] = (CONSTRUCTORS[func], labels or [])
    return metrics


def exposed_names(metrics: dict[str, tuple[str, list[str]]]) -> set[str]:
    return {name + suffix for name, (kind, _) in metrics.items() for suffix in SUFFIXES[kind]}


def test_the_project_metrics_are_read_from_the_source():
    metrics = project_metrics()
    # the parser sees constructors, collector families and names built in a loop alike
    assert metrics["onewindow_messages_handled_total"] == ("counter", ["service", "handler", "outcome"])
    assert metrics["onewindow_grpc_seconds"] == ("histogram", ["api", "method"])
    assert metrics["onewindow_cases_open"] == ("gauge", ["level", "state"])
    assert metrics["onewindow_on_time_ratio"] == ("gauge", [])
    assert len(metrics) >= 20, sorted(metrics)
    unknown = {label for _, labels in metrics.values() for label in labels} - set(LABEL_VALUES)
    assert not unknown, f"give the stand-in exporter values for the labels {sorted(unknown)}"


# ---------------------------------------------------------------- expressions of the dashboards

def dashboards() -> list[tuple[str, dict]]:
    assert DASHBOARDS, "no dashboards in deploy/grafana/dashboards"
    return [(path.name, json.loads(path.read_text(encoding="utf-8"))) for path in DASHBOARDS]


def all_panels(panels: list[dict]):
    """Every panel, those nested in (collapsed) rows included."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels") or [])


def variable_query(variable: dict) -> str:
    query = variable.get("query")
    return query.get("query", "") if isinstance(query, dict) else query or ""


def expressions(board: dict) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target, annotation and query variable of a dashboard."""
    found = []
    for panel in all_panels(board.get("panels", [])):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                found.append((f"panel {panel.get('title')!r} {target.get('refId')}", target["expr"]))
    for annotation in board.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            found.append((f"annotation {annotation.get('name')!r}", annotation["expr"]))
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable_query(variable).strip()
        # label_values(selector, label) lists the label's values on the selector's series;
        # query_result(expr) evaluates expr. Others (label_values(label), metrics(...)) name no
        # series this test can check: not used.
        if m := re.fullmatch(r"label_values\((.+),\s*\w+\s*\)", query, re.S):
            found.append((f"variable ${variable['name']}", m.group(1)))
        elif m := re.fullmatch(r"query_result\((.+)\)", query, re.S):
            found.append((f"variable ${variable['name']}", m.group(1)))
        else:
            raise AssertionError(f"variable ${variable['name']}: unsupported query {query!r}")
    return found


def substitute(expr: str, board: dict) -> str:
    """Grafana's variables replaced as Grafana would: built-ins by durations, a dashboard variable
    by its `All` regex (or its first value)."""
    variables = {v["name"]: v for v in board.get("templating", {}).get("list", [])}

    def value(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name in BUILTIN:
            return BUILTIN[name]
        if name not in variables:
            raise AssertionError(f"{expr!r} uses ${name}, which is neither built in nor a dashboard variable")
        variable = variables[name]
        if variable.get("includeAll"):
            return variable.get("allValue") or ".*"
        options = variable.get("options") or [{"value": ".*"}]
        return options[0]["value"]

    out = VARIABLE.sub(value, expr)
    assert "$" not in out and "[[" not in out, f"a Grafana variable is left in {out!r}"
    return out


KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan", "atan2"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (also in `{__name__="..."}`)."""
    names = set(re.findall(r'__name__\s*=\s*"([^"]+)"', expr))
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, regexes
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()", text):
        word = m.group(1)
        if word.lower() not in KEYWORDS and not re.fullmatch(r"\d+[smhdwy]", word):
            names.add(word)
    return names


def unknown_metrics(expr: str, known: set[str]) -> set[str]:
    return {n for n in metric_names(expr) if n not in known and n not in EXTERNAL_NAMES
            and not n.startswith(EXTERNAL_PREFIXES)}


def test_metric_names_are_found_in_expressions():
    expr = ('sum by (service, le) (rate(onewindow_handler_seconds_bucket{job="onewindow", service=~"a|b"}[5m]))'
            ' / on (service) group_left sum without (le) (onewindow_outbox_unpublished offset 5m) > bool 0.5'
            ' or up{__name__="up"} unless vector(1)')
    assert metric_names(expr) == {"onewindow_handler_seconds_bucket", "onewindow_outbox_unpublished", "up"}


def test_a_misspelt_metric_name_is_caught():
    known = exposed_names(project_metrics())
    assert unknown_metrics('sum(rate(onewindow_outbox_publisehd_total{job="onewindow"}[5m]))', known) \
        == {"onewindow_outbox_publisehd_total"}
    assert unknown_metrics('histogram_quantile(0.9, rate(onewindow_grpc_seconds_bucket[1m]))', known) == set()


def test_every_metric_in_the_dashboards_and_alerts_is_defined():
    known = exposed_names(project_metrics())
    exprs = [(f"{name}: {where}", expr) for name, board in dashboards() for where, expr in expressions(board)]
    exprs += [(f"alerts.yml: {where}", expr) for where, expr in alert_expressions()]
    bad = {where: sorted(unknown_metrics(expr, known)) for where, expr in exprs if unknown_metrics(expr, known)}
    assert not bad, f"metrics neither defined in {[str(p.relative_to(ROOT)) for p in METRIC_SOURCES]} " \
                    f"nor external: {bad}"


def test_variables_are_substituted_and_an_unknown_one_fails():
    board = {"templating": {"list": [{"name": "level", "includeAll": True, "allValue": ".*"}]}}
    assert substitute('rate(x{level=~"$level"}[$__rate_interval]) * ${__range_s}', board) \
        == 'rate(x{level=~".*"}[1m]) * 3600'
    with pytest.raises(AssertionError, match=r"\$nope"):
        substitute('x{level=~"$nope"}', board)


# ---------------------------------------------------------------- structure of the dashboards

def provisioned_datasource_uid() -> str:
    (path,) = sorted(DATASOURCES.glob("*.y*ml"))
    (source,) = yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]
    assert source["type"] == "prometheus"
    return source["uid"]


def test_dashboards_have_unique_uids_and_titles_and_panel_ids():
    boards = [board for _, board in dashboards()]
    uids = [b.get("uid") for b in boards]
    titles = [b.get("title") for b in boards]
    assert all(uids) and len(set(uids)) == len(uids), uids
    assert len(set(titles)) == len(titles), titles
    for name, board in dashboards():
        ids = [p.get("id") for p in all_panels(board["panels"])]
        assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids), f"{name}: panel ids {ids}"
        assert board.get("schemaVersion", 0) >= 36, f"{name}: schemaVersion"


def test_every_panel_and_query_uses_the_provisioned_datasource():
    uid = provisioned_datasource_uid()
    for name, board in dashboards():
        for panel in all_panels(board["panels"]):
            if panel["type"] == "row":
                continue
            assert panel.get("datasource") == {"type": "prometheus", "uid": uid}, \
                f"{name}: panel {panel.get('title')!r} datasource {panel.get('datasource')}"
            assert panel.get("targets"), f"{name}: panel {panel.get('title')!r} has no query"
            for target in panel["targets"]:
                assert target.get("expr"), f"{name}: panel {panel.get('title')!r} {target.get('refId')}: no expr"
                assert target.get("datasource", {"uid": uid})["uid"] == uid, f"{name}: {panel.get('title')!r}"
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                assert variable.get("datasource") == {"type": "prometheus", "uid": uid}, \
                    f"{name}: variable ${variable['name']}"


def test_every_dashboard_variable_is_used_and_every_used_one_is_defined():
    for name, board in dashboards():
        defined = {v["name"] for v in board.get("templating", {}).get("list", [])}
        used = {m.group(1) or m.group(2) for _, expr in expressions(board) for m in VARIABLE.finditer(expr)}
        assert not used - defined - set(BUILTIN), f"{name}: undefined variables {sorted(used - defined)}"
        assert not defined - used, f"{name}: variables no query uses {sorted(defined - used)}"


# ---------------------------------------------------------------- a real Prometheus

def binary(name: str, package: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed: install Debian's `{package}` package (apt-get install {package})",
                    pytrace=False)
    return exe


class StandIn:
    """Serves every project metric (and rabbitmq_prometheus's queue series on /metrics/per-object),
    each label combination moving at every scrape so that rate() and histogram_quantile() have data."""

    def __init__(self, metrics: dict[str, tuple[str, list[str]]]):
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # the real process_* families of prometheus_client
        types = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
        self.metrics = []
        for name, (kind, labels) in metrics.items():
            metric = types[kind](name, name, labels, registry=self.registry)
            combos = list(itertools.product(*(LABEL_VALUES[label] for label in labels)))
            self.metrics.append((kind, [metric.labels(*c) if labels else metric for c in combos]))
        self.rabbit = CollectorRegistry()
        self.queues = [Gauge(f"rabbitmq_queue_{what}", what, ["vhost", "queue"], registry=self.rabbit)
                       for what in ("messages_ready", "messages_unacked", "consumers")]
        self.lock = threading.Lock()
        self.tick = 0

    def scrape(self, path: str) -> bytes:
        with self.lock:
            self.tick += 1
            for kind, children in self.metrics:
                for child in children:
                    if kind == "counter":
                        child.inc()
                    elif kind == "histogram":
                        child.observe(0.05 * (self.tick % 7 + 1))
                    else:
                        child.set(self.tick % 5 + 1)
            for gauge in self.queues:
                for queue in QUEUES:
                    gauge.labels("/", queue).set(self.tick % 3)
            return generate_latest(self.rabbit if path == "/metrics/per-object" else self.registry)

    def serve(self) -> ThreadingHTTPServer:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = stand_in.scrape(urllib.parse.urlsplit(self.path).path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def scrape_config_for(exporter: str) -> dict:
    """The compose scrape config with its jobs, paths and labels, every target the stand-in, and
    the rules of alerts.yml (evaluated every second)."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] not in ("onewindow", "rabbitmq"):
            continue  # Prometheus and Alertmanager themselves: their own series, not used
        job = {**job, "scrape_interval": "1s", "scrape_timeout": "1s"}
        job["static_configs"] = [{**sc, "targets": [exporter] * len(sc["targets"])} for sc in job["static_configs"]]
        jobs.append(job)
    assert {j["job_name"] for j in jobs} == {"onewindow", "rabbitmq"}
    rules = [str((SCRAPE_CONFIG.parent / r).resolve()) for r in config["rule_files"]]
    return {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": rules,
            "scrape_configs": jobs}


class Prometheus:
    def __init__(self, port: int):
        self.port = port

    def get(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:  # 400/422: a bad query answers with a JSON error
            return json.loads(exc.read())

    def query(self, expr: str) -> dict:
        data = urllib.parse.urlencode({"query": expr}).encode()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/query", data=data, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    exe = binary("prometheus", "prometheus")
    server = StandIn(project_metrics()).serve()
    tmp = tmp_path_factory.mktemp("prometheus")
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config_for(f"127.0.0.1:{server.server_port}")), encoding="utf-8")
    port = free_port()
    log = open(tmp / "prometheus.log", "wb")
    proc = subprocess.Popen([exe, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)

    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {proc.returncode}:\n"
                                 + (tmp / "prometheus.log").read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as reply:
                return reply.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, timeout=30, what=f"prometheus ready (log: {tmp / 'prometheus.log'})")
        yield Prometheus(port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        server.shutdown()


def alert_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [(rule.get("alert") or rule.get("record"), rule["expr"])
            for group in rules["groups"] for rule in group["rules"]]


def test_a_broken_expression_is_an_error(prometheus):
    # the harness bites: what Prometheus cannot parse comes back as an error, not as no data
    answer = prometheus.query("sum(rate(onewindow_outbox_published_total[5m])")
    assert answer["status"] == "error" and answer["errorType"] == "bad_data", answer
    answer = prometheus.query('onewindow_cases_open{level=~"("}')
    assert answer["status"] == "error", answer


def test_every_dashboard_expression_evaluates_and_finds_series(prometheus):
    exprs = [(f"{name}: {where}", substitute(expr, board))
             for name, board in dashboards() for where, expr in expressions(board)]
    assert len(exprs) >= 40, len(exprs)
    for where, expr in exprs:
        answer = prometheus.query(expr)
        assert answer["status"] == "success", f"{where}: {expr}\n{answer}"

    # with every series scraped twice or more, every query finds something: a label name, label value
    # or job that no series has would leave a panel empty for good
    def all_found():
        return all(prometheus.query(e)["data"]["result"] for _, e in exprs)
    try:
        wait_until(all_found, timeout=20, what="every dashboard query to find series")
    except AssertionError:
        missing = [f"{w}: {e}" for w, e in exprs if not prometheus.query(e)["data"]["result"]]
        raise AssertionError("dashboard queries that find no series:\n" + "\n".join(missing)) from None


def test_every_alert_expression_evaluates(prometheus):
    exprs = alert_expressions()
    assert exprs
    for name, expr in exprs:
        answer = prometheus.query(expr)
        assert answer["status"] == "success", f"alerts.yml {name}: {expr}\n{answer}"

    # loaded from the compose config's rule_files, and evaluated by the rule manager without error
    def evaluated():
        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        done = len(rules) == len(exprs) and all(r.get("lastEvaluation", "").startswith("20") for r in rules)
        return rules if done else None
    rules = wait_until(evaluated, timeout=20, what="every rule of alerts.yml evaluated")
    bad = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not bad, bad


# ---------------------------------------------------------------- the configuration files

def test_the_compose_scrape_config_is_valid():
    done = subprocess.run([binary("promtool", "prometheus"), "check", "config", str(SCRAPE_CONFIG)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout + done.stderr  # alerts.yml resolves beside it


def test_the_alertmanager_config_is_valid():
    done = subprocess.run([binary("amtool", "prometheus-alertmanager"), "check-config", str(ALERTMANAGER)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_routed_by_its_severity():
    amtool = binary("amtool", "prometheus-alertmanager")
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert alerts
    for rule in alerts:
        severity = rule.get("labels", {}).get("severity")
        assert severity in RECEIVERS, f"{rule['alert']}: severity {severity!r} has no route"
        done = subprocess.run([amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                               f"alertname={rule['alert']}", f"severity={severity}"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.split() == [RECEIVERS[severity]], f"{rule['alert']} goes to {done.stdout!r}"
