// Command pause is the sandbox process of every pod in the node image built from source: it sleeps until
// SIGINT/SIGTERM and, as PID 1 of a pod that shares its PID namespace, reaps orphaned children.
// Our own code (the image kubeadm expects as registry.k8s.io/pause:<tag>).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
