# The two commands of README.md, and the pieces they are made of.
#   make quickstart   build and install kubectl-kuul, start the local Kuul cluster, run a job on it
#   make test         the whole suite: format, clippy, unit and integration tests
#   make dist         the host's release archives (krew and full), their sha256, the filled krew manifest
#   make bench        kuul against kubectl and shell recipes at scale (not part of make test)
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
# Where `make install` puts the plugins; kubectl finds them on PATH.
BINDIR ?= $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
# local (the embedded local cluster) or current (the current kubeconfig context).
KUUL_CLUSTER ?= local
# Cargo's target directory as cargo resolves it (CARGO_TARGET_DIR, build.target-dir in a
# .cargo/config.toml, else ./target): install, dist and bench read the binaries there.
# Looked up once, and only when a recipe needs it, so that other targets start at once.
# What the Makefile and the test scripts make themselves (target/dist, target/bench, the
# local cluster's target/kuul-cluster, Docker's target/kuul-docker) stays under this
# repository's target/ wherever cargo builds.
TARGET_DIR = $(eval TARGET_DIR := $(cargo_target_dir))$(TARGET_DIR)
cargo_target_dir = $(or $(shell $(CARGO) metadata --format-version 1 --no-deps | \
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'),$(error cannot find cargo's target directory: `$(CARGO) metadata` failed))

.PHONY: all build install install-umbrella quickstart test dist bench fmt-check clippy unit integration \
	cluster-up cluster-down docker-up docker-down clean

all: build

build:
	$(CARGO) build --release --locked --workspace --bins

install: build
	install -d "$(BINDIR)"
# Every kubectl-kuul* binary, but not cargo's dependency files (kubectl-kuul-new.d).
	find "$(TARGET_DIR)/release" -maxdepth 1 -type f -name 'kubectl-kuul*' ! -name '*.d' \
	  -exec install -m 0755 {} "$(BINDIR)/" \;
	"$(BINDIR)/kubectl-kuul" completion install --dir "$(BINDIR)"
	@echo "installed the kubectl-kuul plugins into $(BINDIR)"
	@case ":$$PATH:" in *":$(BINDIR):"*) ;; *) echo "note: $(BINDIR) is not on PATH; add it so kubectl finds the plugins";; esac

# Where `make dist` puts the two archives, their .sha256 and kuul.yaml (the krew manifest).
DISTDIR ?= target/dist

# A release build stamps KUUL_GIT_COMMIT when it is set (CI), else the commit from git.
dist: build
	release/dist "$(TARGET_DIR)/release" "$(DISTDIR)"

# The quickstart needs only the umbrella kubectl-kuul (every command): one release link
# instead of nine. Were thin plugins installed before, kubectl would pick those over the
# umbrella, so then every binary is rebuilt and installed. The local cluster's Go build
# runs alongside cargo, so that their downloads and compilations overlap.
quickstart:
	@cluster_pid=; \
	if [ "$(KUUL_CLUSTER)" = local ]; then tests/cluster/build >/dev/null & cluster_pid=$$!; fi; \
	if ls "$(BINDIR)"/kubectl-kuul-* >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory install || { [ -z "$$cluster_pid" ] || wait $$cluster_pid; exit 1; }; \
	else \
	  $(MAKE) --no-print-directory install-umbrella || { [ -z "$$cluster_pid" ] || wait $$cluster_pid; exit 1; }; \
	fi; \
	[ -z "$$cluster_pid" ] || wait $$cluster_pid || { echo "quickstart: building the local cluster failed (see above)" >&2; exit 1; }
	@tests/quickstart "$(KUUL_CLUSTER)" "$(BINDIR)"

install-umbrella:
	$(CARGO) build --release --locked -p kubectl-kuul
	install -d "$(BINDIR)"
	install -m 0755 "$(TARGET_DIR)/release/kubectl-kuul" "$(BINDIR)/"
	"$(BINDIR)/kubectl-kuul" completion install --dir "$(BINDIR)"
	@echo "installed kubectl-kuul (every command) into $(BINDIR)"
	@case ":$$PATH:" in *":$(BINDIR):"*) ;; *) echo "note: $(BINDIR) is not on PATH; add it so kubectl finds the plugins";; esac

test: fmt-check clippy unit integration

# Benchmarks on the local Kuul cluster (or KUUL_CLUSTER=current): results on stdout and in
# target/bench/results.md and .json. Options through BENCH_ARGS, e.g.
#   make bench BENCH_ARGS='--only status,prune --reps 5 --prune 2000'
bench:
	$(CARGO) build --release --locked -p kubectl-kuul
	KUUL_CLUSTER=$(KUUL_CLUSTER) tests/bench/run $(BENCH_ARGS)

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --locked --workspace --exclude kuul-tests

integration:
	tests/integration

cluster-up:
	@tests/cluster/up

cluster-down:
	@tests/cluster/down

docker-up:
	@tests/docker/up

docker-down:
	@tests/docker/down

clean: cluster-down
	$(CARGO) clean
