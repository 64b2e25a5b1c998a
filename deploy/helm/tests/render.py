"""Lints and renders the chart for every value set; checks the refused sets fail.

Usage: render.py CHART_DIR TESTS_DIR OUT_DIR

For each tests/values/NAME.yaml: `helm lint --strict` (for the oldest and newest
Kubernetes version supported), then a render as release "vigil" in namespace "vigil",
written to OUT_DIR/NAME.yaml (all manifests, NOTES.txt left out). For each
tests/refused/NAME.yaml: lint and render must both fail, with the text of its
"# expect:" line in the error. Rendering uses helm-python-sdk: Helm's own Go code
(libhelm_c, shipped in the wheel), no helm binary and no network.
"""

import sys
from pathlib import Path

import helm_python as helm
import yaml

KUBE_VERSIONS = ["v1.27.0", "v1.37.0"]
RELEASE = "vigil"
NAMESPACE = "vigil"


def load_values(path):
    values = yaml.safe_load(path.read_text())
    return values or {}


def lint_errors(chart_dir, values, kube_version):
    report = helm.lint(chart_dir, values, strict=True, namespace=NAMESPACE,
                       kube_version=kube_version)
    # Severity 1 is INFO ("icon is recommended"); warnings (2) and errors (3) count.
    return [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]


def render(chart, values):
    manifests = chart.render(values=values, name=RELEASE, namespace=NAMESPACE,
                             is_install=True)
    parts = []
    for name in sorted(manifests):
        text = manifests[name].strip()
        if name.endswith("NOTES.txt") or not text:
            continue
        parts.append(f"# Source: {name}\n{text}")
    return "---\n" + "\n---\n".join(parts) + "\n", manifests


def refusal(chart, values):
    """The error rendering `values` gives, or None when it renders."""
    try:
        chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    except helm.HelmError as e:
        return str(e)
    return None


def main():
    chart_dir, tests_dir, out_dir = (Path(a) for a in sys.argv[1:4])
    failures = 0
    with helm.Chart.load(str(chart_dir)) as chart:
        for path in sorted((tests_dir / "values").glob("*.yaml")):
            values = load_values(path)
            for kube in KUBE_VERSIONS:
                errors = lint_errors(str(chart_dir), values, kube)
                if errors:
                    print(f"FAIL: lint {path.name} (Kubernetes {kube}): {errors}")
                    failures += 1
            try:
                text, manifests = render(chart, values)
            except helm.HelmError as e:
                print(f"FAIL: render {path.name}: {e}")
                failures += 1
                continue
            notes = next((v for k, v in manifests.items() if k.endswith("NOTES.txt")), "")
            if "dns://" not in notes:
                print(f"FAIL: {path.name}: NOTES.txt does not tell clients where to connect")
                failures += 1
            (out_dir / path.name).write_text(text)
            print(f"ok: lint and render {path.name}")

        for path in sorted((tests_dir / "refused").glob("*.yaml")):
            expect = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
            values = load_values(path)
            error = refusal(chart, values)
            if error is None:
                print(f"FAIL: {path.name} rendered, but must be refused")
                failures += 1
                continue
            if expect not in error:
                print(f"FAIL: {path.name} refused, but not with {expect!r}: {error}")
                failures += 1
                continue
            # Lint runs templates in Helm's lint mode, where `fail` only logs: it
            # refuses what the schema refuses, not what the templates do.
            by_schema = "don't meet the specifications of the schema" in error
            if by_schema and not lint_errors(str(chart_dir), values, KUBE_VERSIONS[-1]):
                print(f"FAIL: {path.name} passed lint, but must be refused")
                failures += 1
                continue
            print(f"ok: refused {path.name} ({expect})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
