"""The wheel, installed into a project fresh from ``django-admin startproject``.

What a user does, in that order: build the wheel, install it into a new virtual
environment, make a project with a small app of their own (a model, a normal view,
an N+1 view), add the README's lines (copied from the README itself), migrate,
serve with gunicorn, run analysis; then see spans, baselines, the N+1 finding and,
once a view is made slow, an incident that names it. On PostgreSQL too when
DATABASE_URL points there (the second pass of .ci/run).

The new environment gets the wheel itself with ``--no-deps``; its dependencies
come from this checkout's environment through a ``.pth`` file, so the test runs
offline. That the wheel declares every dependency it imports is checked apart, in
``test_the_wheel_declares_what_it_imports``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from email.parser import Parser
from importlib.metadata import packages_distributions
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import urllib3

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SHOP_MODELS = """
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=50)


class Item(models.Model):
    name = models.CharField(max_length=50)
    category = models.ForeignKey(Category, on_delete=models.CASCADE)
"""

SHOP_VIEWS = """
import time
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse

from shop.models import Item


def items(request):
    if (Path(settings.BASE_DIR) / "slow").exists():
        time.sleep(0.3)  # the fault: this view's own code got slow
    return JsonResponse({"items": list(Item.objects.values_list("name", flat=True))})


def items_with_categories(request):
    # The N+1: one query for the items, then one per item for its category.
    rows = [(item.name, item.category.name) for item in Item.objects.all()]
    return JsonResponse({"items": rows})
"""

SHOP_URLS = """
from django.urls import path

from shop import views

urlpatterns = [
    path("items/", views.items, name="items"),
    path("items-with-categories/", views.items_with_categories, name="categories"),
]
"""


def readme_block(name: str) -> str:
    """The fenced block after ``<!-- drop-in:name -->`` in the README."""
    text = (ROOT / "README.md").read_text()
    match = re.search(
        rf"<!-- drop-in:{name} -->\n```\w*\n(.*?)```", text, flags=re.DOTALL
    )
    assert match, f"README has no drop-in:{name} block"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel`` of a copy of the sources (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "aiops", source / "aiops", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        + ["--no-build-isolation", "-w", str(work / "dist"), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = (work / "dist").glob("aiops_for_django-*.whl")
    return built


def test_the_wheel_holds_the_apps_and_only_them(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(metadata).decode())
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"aiops"}
    for needed in (
        "aiops/telemetry/migrations/0001_initial.py",
        "aiops/detection/migrations/0001_initial.py",
        "aiops/dashboard/templates/dashboard/base.html",
        "aiops/dashboard/static/dashboard/favicon.svg",
        "aiops/urls.py",
        "aiops/api/routes.py",
    ):
        assert needed in names
    assert not any("/tests/" in n or n.startswith("demo_shop") for n in names)
    import aiops

    assert meta["Version"] == aiops.__version__
    assert meta["License-Expression"] == "MIT"
    required = " ".join(meta.get_all("Requires-Dist")).lower()
    for tool in ("pytest", "schemathesis", "playwright", "opentelemetry-sdk", "ruff"):
        assert tool not in required  # a production install pulls no test tools


def _third_party_imports(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split(".")[0])
    local = {"aiops", "__future__"}
    return {m for m in found - local if m not in sys.stdlib_module_names}


def test_the_wheel_declares_what_it_imports(wheel):
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(
            n for n in archive.namelist() if n.endswith(".dist-info/METADATA")
        )
        meta = Parser().parsestr(archive.read(metadata).decode())
    declared = {
        re.split(r"[<>=!~ \[;]", requirement)[0].lower().replace("_", "-")
        for requirement in meta.get_all("Requires-Dist")
    }
    owners = packages_distributions()
    undeclared = {}
    for module in _third_party_imports(ROOT / "aiops"):
        dists = {d.lower().replace("_", "-") for d in owners.get(module, [])}
        if not dists & declared:
            undeclared[module] = sorted(dists)
    assert undeclared == {}


@pytest.fixture(scope="module")
def environment(wheel, tmp_path_factory) -> Path:
    """A new virtualenv holding the wheel (dependencies from this environment)."""
    where = tmp_path_factory.mktemp("venv") / "env"
    venv.create(where, with_pip=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "checkout_dependencies.pth").write_text(ours + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--disable-pip-version-check", str(wheel)],
        check=True,
        timeout=300,
    )
    return python


def _databases(name: str) -> tuple[str, callable]:
    """Settings lines that put the project on PostgreSQL when DATABASE_URL says so
    (its main database and the span database), and how to drop them after."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return "", lambda: None
    import psycopg

    parts = urlsplit(url)
    admin = psycopg.connect(url, autocommit=True)
    lines = ""
    for alias, database in (("default", name), ("telemetry", f"{name}_spans")):
        admin.execute(f'CREATE DATABASE "{database}"')
        lines += (
            f"\nDATABASES[{alias!r}] = {{"
            "'ENGINE': 'django.db.backends.postgresql', "
            f"'NAME': {database!r}, 'USER': {parts.username or 'postgres'!r}, "
            f"'PASSWORD': {parts.password or ''!r}, 'HOST': {parts.hostname!r}, "
            f"'PORT': {str(parts.port or 5432)!r}}}\n"
        )

    def drop() -> None:
        for database in (name, f"{name}_spans"):
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()

    return lines, drop


def test_a_new_project_with_the_readme_lines_finds_n_plus_one_and_a_slow_view(
    environment, tmp_path
):
    python = str(environment)
    base = tmp_path / "project"
    base.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "AIOPS_", "PYTHON"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"

    def manage(*args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [python, "manage.py", *args],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    subprocess.run(
        [python, "-m", "django", "startproject", "mysite", str(base)],
        check=True,
        env=env,
        timeout=60,
    )
    shop = base / "shop"
    (shop / "migrations").mkdir(parents=True)
    (shop / "__init__.py").write_text("")
    (shop / "migrations" / "__init__.py").write_text("")
    (shop / "models.py").write_text(SHOP_MODELS)
    (shop / "views.py").write_text(SHOP_VIEWS)
    (shop / "urls.py").write_text(SHOP_URLS)

    databases, drop_databases = _databases(f"aiops_dropin_{os.getpid()}")
    settings = base / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\n# The README's lines\n"
        + readme_block("settings")
        + '\nINSTALLED_APPS += ["shop"]\n'
        + "\n# The README's recipe for spans in a database of their own\n"
        + readme_block("span-database")
        + databases
        # A host setting the product must live with.
        + 'DATABASES["default"]["ATOMIC_REQUESTS"] = True\n'
    )
    urls = base / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        + "\n# The README's lines\n"
        + readme_block("urls")
        + 'urlpatterns += [path("", include("shop.urls"))]\n'
    )
    assert readme_block("commands").splitlines()[0] == "python manage.py migrate"

    server = None
    try:
        manage("makemigrations", "shop")
        manage("migrate")
        manage("migrate", "--database", "telemetry")
        manage(
            "shell",
            "-c",
            "from shop.models import Category, Item\n"
            "cats = [Category.objects.create(name=f'c{i}') for i in range(3)]\n"
            "for i in range(30):\n"
            "    Item.objects.create(name=f'item {i}', category=cats[i % 3])\n",
        )
        key = manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User\n"
            "from rest_framework.authtoken.models import Token\n"
            "user = User.objects.create_superuser('ops', 'ops@example.com', 'pw')\n"
            "print(Token.objects.create(user=user).key)\n",
        ).split()[-1]

        port = free_port()
        server = subprocess.Popen(
            [python, "-m", "gunicorn", "mysite.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "1", "--threads", "8", "--graceful-timeout", "5"],
            cwd=base,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        http = urllib3.PoolManager(maxsize=8, retries=False)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(http, url + "/items/"), timeout=30)

        def traffic(seconds: float, per_second: float = 8.0) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for path in ("/items/", "/items-with-categories/"):
                    assert http.request("GET", url + path).status == 200
                time.sleep(1 / per_second)

        def api(path: str):
            answer = http.request(
                "GET", url + "/aiops/" + path, headers={"Authorization": f"Token {key}"}
            )
            assert answer.status == 200, answer.data[:500]
            return json.loads(answer.data)

        traffic(25)  # a baseline judges once it has seen 20 s
        time.sleep(1.5)  # the span writer flushes every 0.5 s
        manage("run_analysis")

        baselines = {b["endpoint"]: b for b in api("baselines")["results"]}
        assert {"items", "categories"} <= set(baselines)
        assert baselines["items"]["service"] == "mysite"
        metrics = api("metrics")["metrics"].values()
        assert any(m["endpoint"] == "items" and m["request_count"] for m in metrics)

        n_plus_one = [
            a
            for a in api("anomalies?limit=100")["results"]
            if a["type"] == "n_plus_one"
        ]
        assert n_plus_one, "no N+1 finding"
        finding = n_plus_one[0]
        assert finding["endpoint"] == "categories"
        statement = json.dumps(finding["detail"]) + finding["summary"]
        assert "shop_category" in statement
        assert "item 1" not in statement and "c1" not in statement  # no literals

        apart = manage(
            "shell",
            "-c",
            "from django.db import connections\n"
            "from aiops.telemetry.models import Span\n"
            "tables = connections['default'].introspection.table_names()\n"
            "print('telemetry_span' in tables, Span.objects.count())\n",
        ).split()[-2:]
        assert apart[0] == "False" and int(apart[1]) > 100  # spans live apart

        (base / "slow").touch()
        traffic(10)
        time.sleep(1.5)
        manage("run_analysis")
        incidents = api("incidents")["active_incidents"]
        slow = [i for i in incidents if "atency" in i["title"]]
        assert slow, [i["title"] for i in incidents]
        root = slow[0]["root_cause"]
        assert (root["service"], root["endpoint"]) == ("mysite", "items")

        # The project's own pages still work around the product.
        assert http.request("GET", url + "/admin/login/").status == 200
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        drop_databases()


def _answers(http: urllib3.PoolManager, url: str) -> bool:
    try:
        return http.request("GET", url, timeout=2).status == 200
    except urllib3.exceptions.HTTPError:
        return False
