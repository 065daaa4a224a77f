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
CONTAINERD_VERSION=$(module_version containerd github.com/containerd/containerd/v2)
CNI_VERSION=$(module_version cni github.com/containernetworking/plugins)
if [ -z "$KUBE_VERSION" ] || [ -z "$ETCD_VERSION" ] || [ -z "$KWOK_VERSION" ] ||
  [ -z "$CONTAINERD_VERSION" ] || [ -z "$CNI_VERSION" ]; then
  die "cannot read the pinned versions from $cluster_dir/go/*/go.mod"
fi

# The Go toolchain the pinned modules need: the CNI plugins' go.mod says go 1.26.8
# (containerd 1.26.6, cri-streaming and kwok 1.26).
GO_MIN=1.26.8

cache_root=${KUUL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuul}
bin_dir="$cache_root/cluster/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-containerd-$CONTAINERD_VERSION-cni-$CNI_VERSION"
state_dir=${KUUL_CLUSTER_DIR:-$repo_dir/target/kuul-cluster}
cluster_name=kuul
kubeconfig="$state_dir/clusters/$cluster_name/kubeconfig.yaml"
# Fixed so that a busy port can be named; change it with KUUL_CLUSTER_PORT.
apiserver_port=${KUUL_CLUSTER_PORT:-16443}
# The fault tests' own cluster (up-faults, down-faults): its API server is killed and
# restarted (restart-apiserver), so it is never the shared cluster every other test uses.
# It has no real node, whose bridge, cgroups and iptables rules are the shared cluster's.
faults_state_dir=${KUUL_FAULTS_CLUSTER_DIR:-$repo_dir/target/kuul-faults-cluster}
faults_port=${KUUL_FAULTS_CLUSTER_PORT:-16444}

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
  local own="^$state_dir/clusters/$cluster_name/bin/" i
  pkill -f "$own" 2>/dev/null || true
  # An API server that restart-apiserver started is not kwokctl's, and its graceful
  # shutdown waits for the etcd kwokctl has stopped: what is left after 5s is killed.
  for ((i = 0; i < 50; i++)); do
    pgrep -f "$own" >/dev/null || return 0
    sleep 0.1
  done
  pkill -KILL -f "$own" 2>/dev/null || true
}

# The real node: a kubelet with containerd, runc and CNI that joins the cluster next to
# kwok's simulated nodes and runs pods of pool `real` as real containers. Its state lives
# under the cluster's, so that `down` removes one folder.
node_name=kuul-real-1
node_dir="$state_dir/nodes/$node_name"
containerd_sock="$node_dir/containerd/containerd.sock"
# The image containerd runs as every pod's sandbox; the build packs it (see pause_image_file).
pause_image=kuul.local/pause:1
pause_image_file=pause-image.tar
# The node's own network: a bridge with a private /24 whose first address is also the
# node's InternalIP, where kubelet listens (kubelet refuses loopback node IPs, and this
# keeps kubelet off the machine's real interfaces). Change the /24 with KUUL_NODE_NET.
node_net=${KUUL_NODE_NET:-10.213.0}
node_ip="$node_net.1"
node_bridge=kuulbr0
# The CNI network's name marks the iptables rules its plugins add (see node-down).
cni_network=kuul-real
# kubelet's port (10250 is a real kubelet's), and its health port.
kubelet_port=${KUUL_KUBELET_PORT:-10260}
kubelet_healthz_port=$((kubelet_port + 1))

# node_cgroups prints the real node's pod cgroup root (kubelet's cgroupRoot, /$node_name)
# in every mounted cgroup hierarchy: each v1 controller, and v2 (alone, or beside v1).
node_cgroups() {
  awk -v n="$node_name" '$3 == "cgroup" || $3 == "cgroup2" { print $2 "/" n }' /proc/self/mounts
}

# remove_state deletes the cluster's state folder, but never through a mount (a pod's
# volume could be a host folder): node-down unmounts everything first.
remove_state() {
  if awk -v d="$state_dir" '{ if ($5 == d || index($5, d "/") == 1) f = 1 } END { exit !f }' /proc/self/mountinfo; then
    die "mounts remain under $state_dir; not removing it (see: grep $state_dir /proc/self/mountinfo)"
  fi
  rm -rf "$state_dir"
}
