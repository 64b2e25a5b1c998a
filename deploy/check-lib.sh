# shellcheck shell=bash
# Shared by the deploy/*/check.sh scripts (sourced, not run): how a check reports.
# The sourcing script sets WORK to a scratch directory it removes on exit.

# Stops the check with a message.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# check WHAT CMD...: runs CMD with its output kept in $WORK/out; prints "ok: WHAT", or
# the output and FAIL.
check() {
    local what=$1
    shift
    if "$@" >"$WORK/out" 2>&1; then
        echo "ok: $what"
    else
        cat "$WORK/out" >&2
        fail "$what"
    fi
}
