#!/bin/sh
# kuul-example: the periodic task of this Kuul image.
#
# Replace do_work with the real task. Whatever happens, one line describing the result
# goes to /dev/termination-log: Kubernetes shows it as the container's termination
# message, and `kubectl kuul history` shows it next to the run.
#
# Arguments: --dry-run  say what would be done, change nothing
# Env:       TARGET     what to work on (default: staging)
#            FAIL_WITH  exit with this code instead of working (to test failure paths)
set -eu

TARGET=${TARGET:-staging}
DRY_RUN=false
for arg in "$@"; do
    case $arg in
        --dry-run) DRY_RUN=true ;;
        *) echo "kuul-example: unknown argument $arg" >&2; exit 2 ;;
    esac
done

result() {
    # The termination log exists only under Kubernetes or `kubectl kuul image test`.
    if [ -w /dev/termination-log ]; then
        printf '%s\n' "$1" > /dev/termination-log
    fi
}

do_work() {
    echo "kuul-example: working on $TARGET"
    # ... the real task goes here ...
}

if [ -n "${FAIL_WITH:-}" ]; then
    echo "kuul-example: failing on purpose with exit code $FAIL_WITH" >&2
    result "failed: exit code $FAIL_WITH on $TARGET"
    exit "$FAIL_WITH"
fi

if [ "$DRY_RUN" = true ]; then
    echo "kuul-example: dry run, would work on $TARGET"
    result "ok: dry run on $TARGET"
    exit 0
fi

do_work
echo "kuul-example: done"
result "ok: $TARGET done"
