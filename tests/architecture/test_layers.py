"""The layers import one way: tooling -> services -> the shared domain (hall) -> the kernel
(services/); services never import each other. Checked on the source, like import-linter would."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

SERVICES = ("intake_svc", "routing_svc", "approval_svc", "notify_svc", "supervision_svc", "identity_svc",
            "web_front")  # the web front: a client of the APIs, importing none of the services
PACKAGES = ("services", "hall", "tooling", *SERVICES)


def allowed(package: str) -> set[str]:
    """The top-level packages of the project that code in `package` may import."""
    if package == "services":
        return {"services"}
    if package == "hall":
        return {"services", "hall"}
    if package in SERVICES:
        return {"services", "hall", package}
    return set(PACKAGES)  # tooling: everything


def imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of a module, relative ones resolved."""
    package = path.relative_to(root).parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.partition(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                found.append((node.lineno, base[0] if base else ""))
            elif node.module:
                found.append((node.lineno, node.module.partition(".")[0]))
    return found


def violations(root: Path) -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for line, target in imports(path, root):
                if target in PACKAGES and target not in allowed(package):
                    out.append(f"{path.relative_to(root)}:{line}: {package} imports {target}")
    return out


def test_every_import_runs_one_way():
    assert violations(ROOT) == []


def test_a_backwards_import_is_caught(tmp_path):
    for package, source in [("services", "from hall.catalogue import OrgChart\n"),
                            ("hall", "from .x import y\nimport intake_svc.use_cases\n"),
                            ("intake_svc", "from approval_svc.events import TaskDecided\n"),
                            ("approval_svc", "from tooling import cli\n")]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "m.py").write_text(source)
    assert violations(tmp_path) == [
        "services/m.py:1: services imports hall",
        "hall/m.py:2: hall imports intake_svc",
        "intake_svc/m.py:1: intake_svc imports approval_svc",
        "approval_svc/m.py:1: approval_svc imports tooling",
    ]
