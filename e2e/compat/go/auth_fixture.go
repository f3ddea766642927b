package main

import (
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// addAuthUsers creates root (with the root role) and alice (password alicepw) holding `role`, which
// grants READWRITE on the case's keys under prefix. Auth stays disabled.
func addAuthUsers(t *T, role, prefix string) {
	a := t.cli.Auth
	t.check(errOnly(a.UserAdd(t.ctx, "root", "rootpw")), "user add root")
	t.check(errOnly(a.UserAdd(t.ctx, "alice", "alicepw")), "user add alice")
	t.check(errOnly(a.RoleAdd(t.ctx, role)), "role add")
	t.check(errOnly(a.RoleGrantPermission(t.ctx, role, t.key(prefix), clientv3.GetPrefixRangeEnd(t.key(prefix)), clientv3.PermissionType(clientv3.PermReadWrite))), "grant")
	t.check(errOnly(a.UserGrantRole(t.ctx, "alice", role)), "grant alice")
	t.check(errOnly(a.UserGrantRole(t.ctx, "root", "root")), "grant root")
}

// enableAuth turns auth on and returns a logged-in root client, a login function for other users,
// and a cleanup that disables auth and removes what addAuthUsers made, whatever happened meanwhile,
// so later cases run without auth.
func enableAuth(t *T, role string) (*clientv3.Client, func(user, pw string) (*clientv3.Client, error), func()) {
	login := func(user, pw string) (*clientv3.Client, error) {
		return clientv3.New(clientv3.Config{Endpoints: t.cli.Endpoints(), DialTimeout: 5 * time.Second, Username: user, Password: pw})
	}
	t.check(errOnly(t.cli.Auth.AuthEnable(t.ctx)), "auth enable")
	root, err := login("root", "rootpw")
	t.check(err, "root client")
	cleanup := func() {
		_, _ = root.AuthDisable(t.ctx)
		_, _ = t.cli.UserDelete(t.ctx, "alice")
		_, _ = t.cli.UserDelete(t.ctx, "root")
		_, _ = t.cli.RoleDelete(t.ctx, role)
		_, _ = t.cli.RoleDelete(t.ctx, "root")
		root.Close()
	}
	return root, login, cleanup
}
