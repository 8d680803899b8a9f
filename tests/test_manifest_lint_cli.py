"""`edgedoctor lint` as CI runs it: formats, exit codes, stable order, bad input, the
multi-overlay tree, and where each object was read (file and line)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from edgedoctor.lint.load import ManifestError, Manifests, load_manifests, load_text

ROOT = Path(__file__).resolve().parent.parent
TREES = ROOT / "tests" / "lint_trees"
OVERLAYS = TREES / "overlays" / "rendered"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgedoctor", "lint", *args], cwd=ROOT, capture_output=True,
                          text=True, input=stdin, timeout=120)


def test_multi_overlay_only_prod_is_broken():
    dev = run(str(OVERLAYS / "dev.yaml"), "-o", "json")
    prod = run(str(OVERLAYS / "prod.yaml"), "-o", "json")
    assert dev.returncode == 0, dev.stdout
    assert [(h["host"], h["verdict"]) for h in json.loads(dev.stdout)["hosts"]] == [("shop.dev.example.com", "ok")]
    assert prod.returncode == 1, prod.stdout
    (h,) = json.loads(prod.stdout)["hosts"]
    assert (h["host"], h["verdict"], h["root_cause"]) == ("shop.prod.example.com", "warning", {"code": "cert-staging-issuer"})
    f = h["findings"][0]
    lines = (OVERLAYS / "prod.yaml").read_text().splitlines()
    assert f["object"] == "Certificate edge/wildcard" and f["file"].endswith("rendered/prod.yaml")
    assert lines[f["line"] - 1] == "apiVersion: cert-manager.io/v1" and lines[f["line"]] == "kind: Certificate"


def _broken() -> list[str]:
    inc = TREES / "route-not-accepted-sectionname" / "broken"
    return [str(p) for p in sorted((TREES / "platform").iterdir()) if p.name != "gateway.yaml"] + [str(inc)]


def test_formats_and_exit_codes():
    js = run(*_broken(), "-o", "json")
    assert js.returncode == 2 and js.stderr == ""
    doc = json.loads(js.stdout)
    assert doc["kind"] == "lint" and doc["schema_version"] == 1
    (h,) = doc["hosts"]
    assert h["root_cause"] == {"code": "route-not-accepted"} and h["category"] == "app-routing"
    assert set(h["findings"][0]) >= {"code", "severity", "message", "file", "line", "object"}
    assert "before" not in h

    text = run(*_broken(), "-o", "text")
    assert text.returncode == 2
    assert text.stdout.splitlines()[0] == "CRITICAL lint: 1 hosts, 1 critical, 0 warning"
    assert "platform/app.yaml:17" in text.stdout

    gh = run(*_broken(), "-o", "github")
    assert gh.returncode == 2
    (line,) = gh.stdout.splitlines()
    assert line.startswith("::error file=") and ",line=17," in line and "title=route-not-accepted (1 host)::" in line

    ju = run(*_broken(), "-o", "junit")
    suite = ET.fromstring(ju.stdout)
    assert suite.get("tests") == "1" and suite.get("failures") == "1"
    failure = suite.find("./testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "route-not-accepted"


def test_output_is_stable():
    paths = [str(OVERLAYS / "prod.yaml")]
    a = run(*paths, "-o", "json").stdout
    b = run(*paths, "-o", "json").stdout
    assert a == b


def test_hosts_sorted_and_grouped_annotations(tmp_path):
    # Two hosts behind the same staging Certificate: two hosts in JSON, one annotation.
    text = (OVERLAYS / "prod.yaml").read_text()
    extra = text.split("---\n")
    route = next(d for d in extra if "kind: HTTPRoute" in d and "name: shop\n" in d)
    other = route.replace("name: shop\n  namespace: shop", "name: blog\n  namespace: shop").replace(
        "shop.prod.example.com", "blog.prod.example.com")
    (tmp_path / "all.yaml").write_text(text + "---\n" + other)
    js = json.loads(run(str(tmp_path / "all.yaml"), "-o", "json").stdout)
    assert [h["host"] for h in js["hosts"]] == ["blog.prod.example.com", "shop.prod.example.com"]
    gh = run(str(tmp_path / "all.yaml"), "-o", "github").stdout.splitlines()
    assert len(gh) == 1 and "(2 hosts)" in gh[0] and "blog.prod.example.com, shop.prod.example.com" in gh[0]


@pytest.mark.parametrize("content,expect", [
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {x: [}\n", ":5: not valid YAML"),
    ("# only a comment\n", "holds no Kubernetes objects"),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: gateway.networking.k8s.io/v1\n"
     "kind: HTTPRoute\nmetadata: {name: r, namespace: a}\nspec:\n  hostnames: 7\n",
     "bad.yaml:5: HTTPRoute a/r: spec.hostnames is an integer, expected a list"),
])
def test_bad_input_is_one_line_exit_3(tmp_path, content, expect):
    p = tmp_path / "bad.yaml"
    p.write_text(content)
    r = run(str(p))
    assert r.returncode == 3 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and expect in r.stderr and "Traceback" not in r.stderr


def test_bad_paths_and_flags_exit_3(tmp_path):
    assert run(str(tmp_path / "missing.yaml")).returncode == 3
    (tmp_path / "empty").mkdir()
    r = run(str(tmp_path / "empty"))
    assert r.returncode == 3 and "no .yaml" in r.stderr
    r = run(str(OVERLAYS / "dev.yaml"), str(OVERLAYS / "prod.yaml"))
    assert r.returncode == 3 and "also defined at" in r.stderr
    r = run(str(OVERLAYS / "dev.yaml"), "--base", str(tmp_path / "nope.yaml"))
    assert r.returncode == 3 and "--base" in r.stderr
    r = run(str(OVERLAYS / "dev.yaml"), "-o", "xml")
    assert r.returncode == 3


def test_stdin_and_no_heavy_imports():
    code = (
        "import sys; from edgedoctor.cli import main\n"
        "rc = main(['lint', '-', '-o', 'json'])\n"
        "assert 'kubernetes' not in sys.modules and 'textual' not in sys.modules, sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'textual'))\n"
        "sys.exit(rc)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       input=(OVERLAYS / "prod.yaml").read_text(), timeout=120)
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["hosts"][0]["findings"][0]["file"] == "<stdin>"


def test_lines_of_every_layout():
    text = (
        "# Source: chart/templates/a.yaml\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
        "---\n---\n# comment\n\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n...\n"
        "---\napiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: {name: c}\n"
        "- kind: Service\n  metadata: {name: d}\n"
    )
    m = Manifests([], {}, [])
    load_text(text, "f.yaml", m)
    assert [(o["metadata"]["name"], m.where[id(o)].line) for o in m.objects] == [("a", 3), ("b", 10), ("c", 19), ("d", 21)]
    j = Manifests([], {}, [])
    load_text('{"apiVersion": "v1", "kind": "List", "items": [\n {"kind": "Service", "metadata": {"name": "x"}},\n'
              ' {"kind": "Service", "metadata": {"name": "y"}}]}\n', "f.json", j)
    assert [(o["metadata"]["name"], j.where[id(o)].line) for o in j.objects] == [("x", 2), ("y", 3)]


def test_directory_skips_hidden_and_other_files(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("kind: Service\nmetadata: {name: hidden}\n")
    (tmp_path / "notes.txt").write_text("kind: Service\nmetadata: {name: txt}\n")
    (tmp_path / "a.yml").write_text("kind: Service\nmetadata: {name: a}\n")
    m = load_manifests([str(tmp_path)])
    assert [o["metadata"]["name"] for o in m.objects] == ["a"]
    with pytest.raises(ManifestError):
        load_manifests([])


def test_links_not_in_the_manifests_are_named_not_passed(tmp_path):
    # An app-only tree: the Gateway lives elsewhere, so the edge links are not judged.
    (tmp_path / "app.yaml").write_text((TREES / "platform" / "app.yaml").read_text())
    r = run(str(tmp_path), "-o", "json")
    assert r.returncode == 0
    (h,) = json.loads(r.stdout)["hosts"]
    assert h["verdict"] == "ok" and h["not_judged"] and h["not_judged"][0].startswith("load-balancer, gateway, listener: ")
    full = json.loads(run(str(TREES / "platform"), "-o", "json").stdout)["hosts"][0]
    assert "not_judged" not in full


def test_quick_yaml_build_gives_the_snapshot_loaders_values():
    import yaml

    from edgedoctor.lint.load import fast_loader
    from edgedoctor.snapshot import yaml_loader

    compared = 0
    for p in sorted(ROOT.glob("**/*.y*ml")):
        if ".git" in p.parts:
            continue
        text = p.read_text(encoding="utf-8")
        try:
            want = list(yaml.load_all(text, Loader=yaml_loader()))
        except yaml.YAMLError:
            continue
        assert list(yaml.load_all(text, Loader=fast_loader())) == want, p
        compared += 1
    assert compared > 100
    # What the short walk leaves to the standard constructor: merge keys, other tags,
    # recursive anchors; and YAML 1.1 scalars resolved as the snapshot loader does.
    text = ("a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}\nf: 0o17\ng: yes\nh: 1_000\n"
            "i: 2026-12-02T01:00:00Z\nj: !!binary aGk=\nk: [1, 2.5, null, ~, 'q', '1', \"yes\", .inf, 0x1F]\n"
            "1: intkey\nl: &r [*r]\n")
    want = yaml.load(text, Loader=yaml_loader())
    got = yaml.load(text, Loader=fast_loader())
    assert repr(got) == repr(want)
    assert got["d"] == {"b": 1, "e": 2} and got["i"] == "2026-12-02T01:00:00Z" and got["g"] is True


def test_a_lint_run_leaves_no_garbage_for_the_cycle_collector():
    """lint_command pauses Python's cyclic collector (large trees build faster): that is
    only free if everything a run allocates is freed by reference counting alone."""
    import gc

    from edgedoctor.app.lint import collector_paused, lint_command

    recording = str(ROOT / "recordings" / "healthy-single-gateway.yaml")
    runs = [(_broken(), None, fmt) for fmt in ("json", "text", "junit", "github")]
    runs += [([str(OVERLAYS / "prod.yaml")], None, "json"), ([str(OVERLAYS / "prod.yaml")], recording, "text")]
    for paths, base, fmt in runs:  # imports and first-use caches once, before counting
        lint_command(paths, base=base, output=fmt)
    gc.collect()
    with collector_paused():
        assert not gc.isenabled()
        for paths, base, fmt in runs:
            text, _ = lint_command(paths, base=base, output=fmt)
            assert text
        found = gc.collect()
    assert gc.isenabled()
    assert found == 0
