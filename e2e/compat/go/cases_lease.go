package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Grant, put with lease, TimeToLive with keys, KeepAliveOnce, KeepAlive, Leases, Revoke (one
// revision for all attached keys), and the lease errors.
func caseLeaseLifecycle(t *T) {
	k1, k2 := t.key("a"), t.key("b")
	g, err := t.cli.Grant(t.ctx, 60)
	t.check(err, "Grant(60)")
	t.expect(g.ID != 0 && g.TTL == 60, "grant: id=%x ttl=%d", g.ID, g.TTL)
	t.put(k1, "1", clientv3.WithLease(g.ID))
	t.put(k2, "2", clientv3.WithLease(g.ID))
	t.expect(t.one(k1).Lease == int64(g.ID), "key lease: %s", kvDesc(t.one(k1)))

	ttl, err := t.cli.TimeToLive(t.ctx, g.ID, clientv3.WithAttachedKeys())
	t.check(err, "TimeToLive")
	keys := sortedStrings(ttl.Keys)
	t.expect(ttl.ID == g.ID && ttl.GrantedTTL == 60 && ttl.TTL > 0 && ttl.TTL <= 60 && eqStrings(keys, []string{k1, k2}),
		"TimeToLive: id=%x granted=%d ttl=%d keys=%q", ttl.ID, ttl.GrantedTTL, ttl.TTL, keys)
	ttl, err = t.cli.TimeToLive(t.ctx, g.ID)
	t.check(err, "TimeToLive without keys")
	t.expect(len(ttl.Keys) == 0, "TimeToLive without keys=true listed %q", ttl.Keys)

	ka, err := t.cli.KeepAliveOnce(t.ctx, g.ID)
	t.check(err, "KeepAliveOnce")
	t.expect(ka.ID == g.ID && ka.TTL == 60, "KeepAliveOnce: id=%x ttl=%d", ka.ID, ka.TTL)

	kctx, kcancel := context.WithCancel(t.ctx)
	kach, err := t.cli.KeepAlive(kctx, g.ID)
	t.check(err, "KeepAlive")
	select {
	case <-t.ctx.Done():
		t.fatalf("no KeepAlive response before the deadline")
	case r, ok := <-kach:
		t.expect(ok && r != nil && r.ID == g.ID && r.TTL == 60, "KeepAlive stream response: %v", r)
	}
	kcancel()

	ls, err := t.cli.Leases(t.ctx)
	t.check(err, "Leases")
	found := false
	for _, l := range ls.Leases {
		found = found || l.ID == g.ID
	}
	t.expect(found, "Leases does not list %x: %v", g.ID, ls.Leases)

	r0 := t.rev()
	rv, err := t.cli.Revoke(t.ctx, g.ID)
	t.check(err, "Revoke")
	t.expect(rv.Header.Revision == r0+1, "revoke: header.revision=%d, want %d (both keys in one revision)", rv.Header.Revision, r0+1)
	t.absent(k1)
	t.absent(k2)
	ttl, err = t.cli.TimeToLive(t.ctx, g.ID)
	t.check(err, "TimeToLive of a revoked lease")
	t.expect(ttl.TTL == -1, "TimeToLive of a revoked lease: ttl=%d, want -1", ttl.TTL)
	_, err = t.cli.Revoke(t.ctx, g.ID)
	t.expectErr(err, rpctypes.ErrLeaseNotFound, "Revoke twice")
	t.expect(err.Error() == "etcdserver: requested lease not found", "message %q", err.Error())
	_, err = t.cli.KeepAliveOnce(t.ctx, g.ID)
	t.expectErr(err, rpctypes.ErrLeaseNotFound, "KeepAliveOnce of a revoked lease")
	_, err = t.cli.Put(t.ctx, k1, "x", clientv3.WithLease(g.ID))
	t.expectErr(err, rpctypes.ErrLeaseNotFound, "Put with a revoked lease")
	_, err = t.cli.Grant(t.ctx, 9_000_000_001)
	t.expectErr(err, rpctypes.ErrLeaseTTLTooLarge, "Grant with a too large TTL")

	// client-chosen IDs through the raw Lease service (clientv3.Grant has no ID option)
	raw := pb.NewLeaseClient(t.cli.ActiveConnection())
	const id = 0x0badc0de12345
	_, err = raw.LeaseGrant(t.ctx, &pb.LeaseGrantRequest{ID: id, TTL: 60})
	t.check(err, "LeaseGrant with an ID")
	_, err = raw.LeaseGrant(t.ctx, &pb.LeaseGrantRequest{ID: id, TTL: 60})
	t.expectErr(rpctypes.Error(err), rpctypes.ErrLeaseExist, "LeaseGrant with an existing ID")
	_, err = t.cli.Revoke(t.ctx, id)
	t.check(err, "Revoke the client-chosen lease")
}

// An expired lease deletes its keys: a watcher sees a DELETE event with prev_kv.
func caseLeaseExpiry(t *T) {
	k := t.key("k")
	g, err := t.cli.Grant(t.ctx, 1)
	t.check(err, "Grant(1)")
	// raised to the minimum, ceil(1.5 × election timeout) = 2 s with the default 1 s election timeout
	t.expect(g.TTL == 2, "Grant(1): ttl %d, want 2 (the minimum)", g.TTL)
	start := time.Now()
	p := t.put(k, "short-lived", clientv3.WithLease(g.ID))
	wch := t.cli.Watch(t.ctx, k, clientv3.WithRev(p.Header.Revision+1), clientv3.WithPrevKV())
	_, evs := t.collect(wch, 1, fmt.Sprintf("DELETE of a key with a %d s lease", g.TTL))
	ev := evs[0]
	t.expect(ev.Type == mvccpb.DELETE && ev.PrevKv != nil && string(ev.PrevKv.Value) == "short-lived" && ev.PrevKv.Lease == int64(g.ID),
		"expiry event: %s (prev %s)", evDesc(ev), kvDesc(ev.PrevKv))
	t.absent(k)
	ttl, err := t.cli.TimeToLive(t.ctx, g.ID)
	t.check(err, "TimeToLive after expiry")
	t.expect(ttl.TTL == -1, "TimeToLive after expiry: %d, want -1", ttl.TTL)
	t.notef("granted ttl %d s, expired after %s", g.TTL, time.Since(start).Round(100*time.Millisecond))
}

// KeepAlive, TimeToLive, Leases and Revoke through every member (a client pinned to each): etcd
// followers forward keep-alives and time-to-live queries to the leader. All members are tried
// before the case fails, and the detail names each member's role.
func caseLeaseEveryMember(t *T) {
	g, err := t.cli.Grant(t.ctx, 60)
	t.check(err, "Grant(60)")
	k := t.key("k")
	t.put(k, "v", clientv3.WithLease(g.ID))
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	// Each call gets its own bound so that one member that does not answer does not hide the others.
	call := func() context.Context {
		ctx, cancel := context.WithTimeout(t.ctx, 9*time.Second)
		go func() { <-t.ctx.Done(); cancel() }()
		return ctx
	}
	for _, ep := range t.cfg.endpoints {
		c := t.memberClient(ep)
		who := t.role(ep)
		ka, err := c.KeepAliveOnce(call(), g.ID)
		if err != nil {
			bad("KeepAliveOnce via %s: %s", who, errDesc(err))
		} else if ka.ID != g.ID || ka.TTL != 60 {
			bad("KeepAliveOnce via %s: id=%x ttl=%d", who, ka.ID, ka.TTL)
		}
		ttl, err := c.TimeToLive(call(), g.ID, clientv3.WithAttachedKeys())
		if err != nil {
			bad("TimeToLive via %s: %s", who, errDesc(err))
		} else if ttl.GrantedTTL != 60 || ttl.TTL <= 0 || !eqStrings(sortedStrings(ttl.Keys), []string{k}) {
			bad("TimeToLive via %s: granted=%d ttl=%d keys=%q", who, ttl.GrantedTTL, ttl.TTL, ttl.Keys)
		}
		ls, err := c.Leases(call())
		if err != nil {
			bad("Leases via %s: %s", who, errDesc(err))
		} else {
			found := false
			for _, l := range ls.Leases {
				found = found || l.ID == g.ID
			}
			if !found {
				bad("Leases via %s does not list %x", who, g.ID)
			}
		}
		g2, err := c.Grant(call(), 60)
		if err != nil {
			bad("Grant via %s: %s", who, errDesc(err))
			continue
		}
		r0 := t.rev()
		rv, err := c.Revoke(call(), g2.ID)
		if err != nil {
			bad("Revoke via %s: %s", who, errDesc(err))
		} else if rv.Header.Revision != r0 {
			bad("Revoke of a lease without keys via %s: header.revision=%d, want %d (no bump)", who, rv.Header.Revision, r0)
		}
	}
	t.expect(len(problems) == 0, "%s", strings.Join(problems, "; "))
	_, err = t.cli.Revoke(t.ctx, g.ID)
	t.check(err, "Revoke")
	t.absent(k)
}

// Which keys a lease holds follows every write: overwriting without a lease or with another lease
// detaches, ignore_lease keeps, delete removes; revoke deletes exactly the attached keys.
func caseLeaseAttachments(t *T) {
	l1, err := t.cli.Grant(t.ctx, 600)
	t.check(err, "Grant l1")
	l2, err := t.cli.Grant(t.ctx, 600)
	t.check(err, "Grant l2")
	defer t.cli.Revoke(t.ctx, l2.ID) //nolint:errcheck
	a, b, c, d, e := t.key("a"), t.key("b"), t.key("c"), t.key("d"), t.key("e")
	for _, k := range []string{a, b, c, d} {
		t.put(k, "1", clientv3.WithLease(l1.ID))
	}
	t.put(a, "2")                             // detached
	t.put(b, "2", clientv3.WithLease(l2.ID))  // moved to l2
	t.put(c, "2", clientv3.WithIgnoreLease()) // stays on l1
	_, err = t.cli.Delete(t.ctx, d)           // gone
	t.check(err, "Delete d")
	t.txn("put with lease in a txn", nil, []clientv3.Op{clientv3.OpPut(e, "1", clientv3.WithLease(l1.ID))}, nil)
	keysOfLease := func(id clientv3.LeaseID) []string {
		r, err := t.cli.TimeToLive(t.ctx, id, clientv3.WithAttachedKeys())
		t.check(err, "TimeToLive")
		return sortedStrings(r.Keys)
	}
	t.expect(eqStrings(keysOfLease(l1.ID), []string{c, e}), "l1 keys %q, want %q", keysOfLease(l1.ID), []string{c, e})
	t.expect(eqStrings(keysOfLease(l2.ID), []string{b}), "l2 keys %q, want %q", keysOfLease(l2.ID), []string{b})
	r0 := t.rev()
	rv, err := t.cli.Revoke(t.ctx, l1.ID)
	t.check(err, "Revoke l1")
	t.expect(rv.Header.Revision == r0+1, "revoke: rev %d, want %d", rv.Header.Revision, r0+1)
	r := t.get(t.pfx, clientv3.WithPrefix())
	t.expect(eqStrings(keysOf(r.Kvs), []string{a, b}), "after revoking l1: keys %q, want %q", keysOf(r.Kvs), []string{a, b})
	t.expect(r.Kvs[0].Lease == 0 && r.Kvs[1].Lease == int64(l2.ID), "leases after revoke: %s", kvsDesc(r.Kvs))
	wch := t.cli.Watch(t.ctx, t.pfx, clientv3.WithPrefix(), clientv3.WithRev(r0+1), clientv3.WithPrevKV())
	resps, evs := t.collect(wch, 2, "revoke events")
	t.expect(len(resps) == 1 && evsDesc(evs) == fmt.Sprintf(`[DELETE %q=""@%d prev="2", DELETE %q=""@%d prev="1"]`, c, r0+1, e, r0+1),
		"revoke events: %s in %d responses", evsDesc(evs), len(resps))
}
