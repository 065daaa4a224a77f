# shellcheck shell=bash disable=SC2034
# (the variables here are used by the scripts that source this file)
# Shared settings of the object store harness (build, up, down): SeaweedFS's pinned
# version, where its binary is cached, where a running store keeps its state, and its
# ports. The version is read from the wrapper Go module, so go.mod stays the one place
# that pins it.

objstore_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$objstore_dir/../.." && pwd)

say() { printf 'kuul-objstore: %s\n' "$*" >&2; }
die() { printf 'kuul-objstore: error: %s\n' "$*" >&2; exit 1; }

SEAWEEDFS_VERSION=$(awk '$1 == "github.com/seaweedfs/seaweedfs" { print $2; exit }' "$objstore_dir/go/go.mod")
[ -n "$SEAWEEDFS_VERSION" ] || die "cannot read SeaweedFS's version from $objstore_dir/go/go.mod"
# The wrapper module's go line: SeaweedFS declares go 1.26.6.
GO_MIN=$(awk '$1 == "go" { print $2; exit }' "$objstore_dir/go/go.mod")

cache_root=${KUUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuul}
bin_dir="$cache_root/objstore/seaweedfs-$SEAWEEDFS_VERSION"
state_dir=${KUUL_OBJSTORE_DIR:-$repo_dir/target/kuul-objstore}

# `weed mini` opens ten ports. The S3 port is the base (default 18333, away from the
# cluster's 16443 and the registry's 5723); the others follow it, and each gRPC port is
# its HTTP port + 10000, so the base must leave room for that: at most 55525.
s3_port=${KUUL_OBJSTORE_PORT:-18333}
master_port=$((s3_port + 1))
volume_port=$((s3_port + 2))
filer_port=$((s3_port + 3))
admin_port=$((s3_port + 4))
# Every port the store listens on, for "is it free?" before a start.
all_ports() {
  local p
  for p in "$s3_port" "$master_port" "$volume_port" "$filer_port" "$admin_port"; do
    echo "$p" $((p + 10000))
  done
}
bucket=kuul-archive
# The identity the tests use, and one that may only read: a write with it is refused,
# which is how a test sees "permission denied" (the admin identity would even create a
# missing bucket on its own).
access_key=kuul
readonly_access_key=kuul-reader
