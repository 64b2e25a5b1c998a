#!/usr/bin/env bash
# Tests the Prometheus rules and the Grafana dashboard offline:
#   1. promtool check rules  deploy/prometheus/vigil-rules.yml
#   2. promtool test rules   deploy/prometheus/tests/*.yml (every alert fires and stays
#                            silent where it should)
#   3. the dashboard is linted (datasource variable, ids) and every query in it parses:
#      each one, Grafana variables substituted, becomes a recording rule in a temporary
#      file that `promtool check rules` reads
#   4. every metric and label name the rules and the dashboard use is one `vigil serve`
#      exports: a CPU-backend daemon is started on free ports, given a little traffic
#      (loadgen --check, a request larger than its queue, a connection refused and one
#      timed out), scraped, and every name looked up in the scrape
# Prints one line per check passed; exits non-zero on the first failure.
#
# Needs promtool (Debian/Ubuntu: apt-get install prometheus), python3 and curl; builds
# target/debug/vigil unless VIGIL_BIN names a built `vigil`.
set -euo pipefail
cd "$(dirname "$0")/../.."

RULES=deploy/prometheus/vigil-rules.yml
TESTS=(deploy/prometheus/tests/*.yml)
DASHBOARD=deploy/grafana/vigil.json
HELPER=deploy/monitoring/promql.py
METRICS_RS=host/daemon/src/serve/metrics.rs
# Exported only once a backend or a device fails, or (devices) by a backend over
# devices, which the CPU backend here is not: looked up in metrics.rs instead of the
# scrape.
LAZY=(vigil_backend_fallbacks_total vigil_device_failures_total vigil_device_start_failures
    vigil_devices_in_service)

for tool in promtool python3 curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case $tool in
            promtool) hint="install it: apt-get install -y --no-install-recommends prometheus (Debian/Ubuntu), or put the promtool of a Prometheus release on PATH" ;;
            *) hint="install $tool" ;;
        esac
        echo "FAIL: $tool not found; $hint" >&2
        exit 1
    fi
done

WORK=$(mktemp -d)
SERVE_PID=
cleanup() {
    if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=deploy/check-lib.sh
. "$(dirname "$0")/../check-lib.sh"

check "promtool check rules $RULES" promtool check rules "$RULES"
check "promtool test rules ${TESTS[*]}" promtool test rules "${TESTS[@]}"

# Every alert has a unit test where it fires (exp_alerts: with entries) and one where it
# stays silent (exp_alerts: []).
cases=$(awk '
    /^[[:space:]]*alertname:/ { name = $2; next }
    name != "" && /^[[:space:]]*exp_alerts:[[:space:]]*\[\][[:space:]]*$/ { print name, "silent"; name = ""; next }
    name != "" && /^[[:space:]]*exp_alerts:[[:space:]]*$/ { print name, "fires"; name = ""; next }
' "${TESTS[@]}" | sort -u)
missing=
for alert in $(sed -nE 's/^[[:space:]]*-[[:space:]]+alert:[[:space:]]*([A-Za-z0-9_]+).*/\1/p' "$RULES"); do
    for kind in fires silent; do
        grep -qx "$alert $kind" <<<"$cases" || missing="$missing $alert($kind)"
    done
done
if [ -n "$missing" ]; then
    echo "FAIL: alerts without a promtool test case where they fire / stay silent:$missing" >&2
    exit 1
fi
echo "ok: every alert in $RULES has a test where it fires and one where it stays silent"

check "dashboard lint ($DASHBOARD)" python3 "$HELPER" dashboard-rules "$DASHBOARD"
python3 "$HELPER" dashboard-rules "$DASHBOARD" >"$WORK/dashboard-rules.yml" 2>/dev/null
check "every dashboard query parses (promtool check rules)" promtool check rules "$WORK/dashboard-rules.yml"

check "metric and label names read from the rules and the dashboard" \
    python3 "$HELPER" refs "$RULES" "$DASHBOARD"
cp "$WORK/out" "$WORK/refs.json"

# A daemon to scrape.
if [ -n "${VIGIL_BIN:-}" ]; then
    V=$VIGIL_BIN
else
    cargo build -q --locked -p vigil
    V=target/debug/vigil
fi
# A small queue and connection limits, so that the traffic below also creates the series
# of shedding (too_large), refused and timed-out connections.
"$V" serve --backend cpu --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --max-batch-signatures 64 --queue-signatures 256 \
    --max-connections-per-ip 1 --handshake-timeout-ms 300 \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 300); do
    [ -s "$WORK/serve.out" ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q '"event":"listening"' "$WORK/serve.out" 2>/dev/null; then
    cat "$WORK/serve.err" >&2
    echo "FAIL: vigil serve did not announce its ports" >&2
    exit 1
fi
GRPC=$(sed -E 's/.*"grpc":"([^"]+)".*/\1/' "$WORK/serve.out")
METRICS=$(sed -E 's/.*"metrics":"([^"]+)".*/\1/' "$WORK/serve.out")
healthy=
for _ in $(seq 1 600); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$METRICS/healthz")" = 200 ]; then
        healthy=1
        break
    fi
    sleep 0.1
done
if [ -z "$healthy" ]; then
    cat "$WORK/serve.err" >&2
    echo "FAIL: vigil serve: /healthz never answered 200" >&2
    exit 1
fi
echo "ok: vigil serve --backend cpu serving (gRPC $GRPC, metrics $METRICS)"

# Traffic: verified requests with their verdicts checked (one connection at a time: the
# cap is 1 per address), then a request larger than the whole queue (refused: shed
# too_large), then a second connection while one is open (refused: max_connections_per_ip)
# and an open connection that never sends its preface (closed: preface_timeout).
check "loadgen --profile strict --check" \
    "$V" loadgen --target "http://$GRPC" --profile strict --duration 1 --batch 16 --signers 1 \
    --concurrency 2 --check
if "$V" loadgen --target "http://$GRPC" --profile strict --requests 1 --batch 300 --signers 1 \
    >"$WORK/out" 2>&1; then
    cat "$WORK/out" >&2
    echo "FAIL: a request larger than the queue was accepted" >&2
    exit 1
fi
exec 3<>"/dev/tcp/${GRPC%:*}/${GRPC#*:}"
exec 4<>"/dev/tcp/${GRPC%:*}/${GRPC#*:}"
# The first is closed once its preface is 300 ms late: wait (up to 10 s) for both counts.
for _ in $(seq 1 100); do
    curl -sf "http://$METRICS/metrics" >"$WORK/metrics.txt" || true
    if grep -q '^vigil_connections_closed_total{' "$WORK/metrics.txt" &&
        grep -q '^vigil_connections_refused_total{' "$WORK/metrics.txt"; then
        break
    fi
    sleep 0.1
done
exec 3<&- 3>&- 4<&- 4>&-
echo "ok: traffic sent (verify, too large, connection refused, preface timeout)"

curl -sf "http://$METRICS/metrics" >"$WORK/metrics.txt"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || true
SERVE_PID=
echo "ok: scraped $(grep -vc '^#' "$WORK/metrics.txt") samples from /metrics"

if python3 "$HELPER" compare "$WORK/refs.json" "$WORK/metrics.txt" "$METRICS_RS" "${LAZY[@]}" >"$WORK/out" 2>&1; then
    cat "$WORK/out"
    echo "ok: every metric and label name used is exported by vigil serve"
else
    cat "$WORK/out" >&2
    echo "FAIL: the rules or the dashboard use names vigil serve does not export" >&2
    exit 1
fi
echo "all monitoring checks passed"
