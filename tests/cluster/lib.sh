# shellcheck shell=bash disable=SC2034
# (the variables here are used by the scripts that source this file)
# Shared settings of the local Kuul cluster scripts (build, up, down): the pinned
# versions, where built binaries are cached and where a running cluster keeps its state.
# The versions are read from the wrapper Go modules so that go.mod stays the one place
# that pins them.

cluster_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$cluster_dir/../.." && pwd)

say() { printf 'kuul-cluster: %s\n' "$*" >&2; }
die() { printf 'kuul-cluster: error: %s\n' "$*" >&2; exit 1; }

# module_version DIR MODULE prints the version DIR/go.mod requires of MODULE.
module_version() {
  awk -v m="$2" '$1 == m || ($1 == "require" && $2 == m) { print ($1 == "require" ? $3 : $2); exit }' "$cluster_dir/go/$1/go.mod"
}

KUBE_VERSION=$(module_version kubernetes k8s.io/kubernetes)
ETCD_VERSION=$(module_version etcd go.etcd.io/etcd/server/v3)
KWOK_VERSION=$(module_version kwok sigs.k8s.io/kwok)
if [ -z "$KUBE_VERSION" ] || [ -z "$ETCD_VERSION" ] || [ -z "$KWOK_VERSION" ]; then
  die "cannot read the pinned versions from $cluster_dir/go/*/go.mod"
fi

# The Go toolchain the pinned modules need (cri-streaming and kwok say go 1.26).
GO_MIN=1.26

cache_root=${KUUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuul}
bin_dir="$cache_root/cluster/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
state_dir=${KUUL_CLUSTER_DIR:-$repo_dir/target/kuul-cluster}
cluster_name=kuul
kubeconfig="$state_dir/clusters/$cluster_name/kubeconfig.yaml"
# Fixed so that a busy port can be named; change it with KUUL_CLUSTER_PORT.
apiserver_port=${KUUL_CLUSTER_PORT:-16443}

# stop_cluster_processes stops the cluster's components: kwokctl by their pid files, then
# anything still running from the cluster's own bin folder (a half-deleted cluster).
stop_cluster_processes() {
  local sink="$state_dir/kwokctl-context-sink.yaml"
  if [ -x "$bin_dir/kwokctl" ] && [ -d "$state_dir/clusters/$cluster_name" ]; then
    # kwokctl removes the cluster's context from a kubeconfig; give it one of its own so
    # that the user's ~/.kube/config is never touched.
    printf 'apiVersion: v1\nkind: Config\n' >"$sink"
    KWOK_WORKDIR="$state_dir" PATH="$bin_dir:$PATH" \
      "$bin_dir/kwokctl" -v WARN delete cluster --name "$cluster_name" --kubeconfig "$sink" >&2 ||
      say "kwokctl could not stop the cluster cleanly; stopping its processes directly"
  fi
  pkill -f "^$state_dir/clusters/$cluster_name/bin/" 2>/dev/null || true
}
