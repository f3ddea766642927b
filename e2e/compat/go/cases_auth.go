package main

import (
	"errors"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// caseAuth: users, roles and key-range permissions through clientv3's Auth API, then clientv3
// clients logging in with Username/Password (the token travels in the `token` metadata). Auth is
// disabled and the users/roles removed again on every path, so later cases run without auth.
func caseAuth(t *T) {
	a := t.cli.Auth
	addAuthUsers(t, "compat-app", "")
	_, err := a.UserAdd(t.ctx, "alice", "x")
	t.expectErr(err, rpctypes.ErrUserAlreadyExist, "user add alice again")
	_, err = a.RoleRevokePermission(t.ctx, "compat-app", "/nope", "")
	t.expectErr(err, rpctypes.ErrPermissionNotGranted, "revoke an ungranted permission")

	root, login, cleanup := enableAuth(t, "compat-app")
	defer cleanup()

	_, err = t.cli.Get(t.ctx, t.key("k"))
	t.expectErr(err, rpctypes.ErrUserEmpty, "get without credentials")
	_, err = t.cli.UserAdd(t.ctx, "eve", "x")
	t.expectErr(err, rpctypes.ErrUserEmpty, "user add without credentials")

	bad, err := login("alice", "wrong")
	if err == nil {
		_, err = bad.Get(t.ctx, t.key("k"))
		bad.Close()
	}
	t.expectErr(err, rpctypes.ErrAuthFailed, "wrong password")

	alice, err := login("alice", "alicepw")
	t.check(err, "alice client")
	defer alice.Close()
	_, err = alice.Put(t.ctx, t.key("k"), "v")
	t.check(err, "alice put inside her prefix")
	g, err := alice.Get(t.ctx, t.key(""), clientv3.WithPrefix())
	t.check(err, "alice get her prefix")
	t.expect(len(g.Kvs) == 1, "alice sees %s", kvsDesc(g.Kvs))
	_, err = alice.Put(t.ctx, "/compat-outside", "v")
	t.expectErr(err, rpctypes.ErrPermissionDenied, "alice put outside")
	_, err = alice.Get(t.ctx, "/compat-outside")
	t.expectErr(err, rpctypes.ErrPermissionDenied, "alice get outside")
	_, err = alice.Txn(t.ctx).If(clientv3.Compare(clientv3.Version(t.key("k")), ">", 0)).Then(clientv3.OpPut("/compat-outside", "v")).Commit()
	t.expectErr(err, rpctypes.ErrPermissionDenied, "alice txn writing outside")
	_, err = alice.UserList(t.ctx)
	t.expectErr(err, rpctypes.ErrPermissionDenied, "alice user list")
	ul, err := root.UserList(t.ctx)
	t.check(err, "root user list")
	t.expect(eqStrings(ul.Users, []string{"alice", "root"}), "users %v", ul.Users)

	wch := alice.Watch(clientv3.WithRequireLeader(t.ctx), "/compat-outside")
	select {
	case wr, ok := <-wch:
		t.expect(ok && wr.Canceled && wr.Err() != nil && strings.Contains(wr.Err().Error(), "permission denied"), "denied watch: ok=%v canceled=%v err=%v", ok, wr.Canceled, wr.Err())
	case <-t.ctx.Done():
		t.fatalf("no response to a denied watch")
	}

	// Revoking the permission takes effect for the next request of an existing session.
	t.check(errOnly(root.RoleRevokePermission(t.ctx, "compat-app", t.key(""), clientv3.GetPrefixRangeEnd(t.key("")))), "revoke")
	_, err = alice.Put(t.ctx, t.key("k"), "w")
	t.expectErr(err, rpctypes.ErrPermissionDenied, "alice put after the revocation")
	_, err = root.UserRevokeRole(t.ctx, "root", "root")
	t.expectErr(err, rpctypes.ErrInvalidAuthMgmt, "root revokes its own root role")
	if !errors.Is(err, rpctypes.ErrInvalidAuthMgmt) {
		t.notef("unexpected %s", errDesc(err))
	}
}

func errOnly[R any](_ R, err error) error { return err }
