#!/usr/bin/env bash
# Tests the Helm chart deploy/helm/vigil offline, without a cluster or a helm binary:
#   1. a virtual environment target/helm-venv with deploy/helm/requirements.txt (pinned;
#      reused while requirements.txt is unchanged)
#   2. helm lint --strict and a render of every tests/values/*.yaml (Helm's own code,
#      from helm-python-sdk); every tests/refused/*.yaml must be refused, with the
#      message its "# expect:" line names (values.schema.json or the templates' checks)
#   3. every rendered object validated strictly (unknown fields refused) against the
#      Kubernetes 1.27 and 1.37 schemas of kubernetes-validate; the custom resources
#      against hand-written subsets of their CRDs (tests/crd-schemas)
#   4. tests/assert_rendered.py: probes, security context, Services, PDBs, TOML, grace
#      periods, devices, monitoring; the PrometheusRule equals
#      deploy/prometheus/vigil-rules.yml
#   5. each value set's rendered vigil.toml run through the real daemon ($VIGIL_BIN
#      serve, CPU backend, loopback): it must become healthy and exit 0 on SIGTERM
# Prints one line per check passed; exits non-zero on the first failing step.
#
# Needs python3 (3.11+) with venv, and network to PyPI the first time. VIGIL_BIN names
# a built `vigil`; default target/debug/vigil (built with cargo if absent).
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM_DIR=deploy/helm
CHART=$HELM_DIR/vigil
TESTS=$HELM_DIR/tests
RULES=deploy/prometheus/vigil-rules.yml
VENV=target/helm-venv
VIGIL_BIN=${VIGIL_BIN:-target/debug/vigil}

if [ ! -x "$VIGIL_BIN" ]; then
    if [ "$VIGIL_BIN" = target/debug/vigil ]; then
        cargo build -q -p vigil
    else
        echo "FAIL: VIGIL_BIN=$VIGIL_BIN is not an executable" >&2
        exit 1
    fi
fi

# 1. The virtual environment, rebuilt when requirements.txt changes.
if ! cmp -s "$HELM_DIR/requirements.txt" "$VENV/requirements.txt" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HELM_DIR/requirements.txt"
    cp "$HELM_DIR/requirements.txt" "$VENV/requirements.txt"
fi
PY=$VENV/bin/python
echo "ok: python environment $VENV"

# The chart's copy of the rules must be the rules (Helm reads files in the chart only).
if ! cmp -s "$RULES" "$CHART/files/vigil-rules.yml"; then
    echo "FAIL: $CHART/files/vigil-rules.yml differs from $RULES: cp $RULES $CHART/files/" >&2
    exit 1
fi
echo "ok: $CHART/files/vigil-rules.yml is a copy of $RULES"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rendered"

# 2.-4. Lint, render, refusals, schemas, assertions. Helm's library logs the refusals'
# `fail` messages on stderr; those go to a file shown only on failure.
step() {
    if ! "$@" 2>"$WORK/stderr"; then
        cat "$WORK/stderr" >&2
        echo "FAIL: $*" >&2
        exit 1
    fi
}
step "$PY" "$TESTS/render.py" "$CHART" "$TESTS" "$WORK/rendered"
step "$PY" "$TESTS/validate.py" "$TESTS/crd-schemas" "$WORK/rendered"/*.yaml
step "$PY" "$TESTS/assert_rendered.py" "$RULES" "$WORK/rendered"

# 5. The real daemon on each rendered vigil.toml.
for toml in "$WORK/rendered"/*.toml; do
    run="$WORK/run-$(basename "$toml" .toml)"
    mkdir -p "$run"
    step "$PY" "$TESTS/run_daemon.py" "$VIGIL_BIN" "$toml" "$run"
done
echo "ok: deploy/helm/check.sh passed"
