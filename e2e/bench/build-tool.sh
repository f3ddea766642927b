#!/usr/bin/env bash
# Builds etcd's own benchmark tool (go.etcd.io/etcd/v3/tools/benchmark, pinned in tool/go.mod) from the
# Go module proxy into the bench cache; prints the binary's path (see build-go.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/build-go.sh" tool go.etcd.io/etcd/v3/tools/benchmark benchmark
