#!/usr/bin/env bash
# Builds a current etcd server release (go.etcd.io/etcd/server/v3, pinned in etcd/go.mod) from the Go
# module proxy into the bench cache; prints the binary's path (see build-go.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/build-go.sh" etcd go.etcd.io/etcd/server/v3 etcd
