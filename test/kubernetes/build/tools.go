// The Kubernetes programs the test cluster runs, built from the Go module proxy at one release (every
// k8s.io staging module pinned to its matching version): see test/images/build-kubernetes.sh.

//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
