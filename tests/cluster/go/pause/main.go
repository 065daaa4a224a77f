// Command pause is the sandbox ("pause") process of the local cluster's real node: the
// first process of every pod, holding its namespaces. It does what Kubernetes' own pause
// does: wait for SIGTERM or SIGINT and exit 0, and reap children (as PID 1 of a pod that
// shares its process namespace, orphans are reparented to it). The real image cannot be
// pulled here (no internet), so the build packs this one into a local image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		// One SIGCHLD may stand for several exits: reap until none is left.
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
