// Package main only anchors the k8s.io/kubernetes requirement so that
// `go mod tidy` keeps it; build.sh builds the kubernetes commands directly.
package main

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {}
