package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A fresh store is at revision 1; nothing has been written yet.
func caseFreshStore(t *T) {
	r := t.get(t.key("nothing"))
	t.expect(r.Header.Revision == 1, "fresh store: header.revision=%d, want 1", r.Header.Revision)
	t.expect(r.Count == 0 && len(r.Kvs) == 0 && !r.More, "fresh store: count=%d kvs=%d more=%v", r.Count, len(r.Kvs), r.More)
	t.expect(r.Header.ClusterId != 0 && r.Header.MemberId != 0 && r.Header.RaftTerm != 0,
		"header ids: cluster=%x member=%x term=%d", r.Header.ClusterId, r.Header.MemberId, r.Header.RaftTerm)
}

// One revision per write request; deletes of nothing, read-only and failed-compare txns do not
// bump it; the changes of one txn share its revision and arrive in op order on a watch.
func caseRevisionArithmetic(t *T) {
	a, b, c := t.key("a"), t.key("b"), t.key("c")
	r0 := t.rev()
	p := t.put(a, "1")
	t.expect(p.Header.Revision == r0+1, "put a: rev %d, want %d", p.Header.Revision, r0+1)
	kv := t.one(a)
	t.expect(kv.CreateRevision == r0+1 && kv.ModRevision == r0+1 && kv.Version == 1, "after create: %s", kvDesc(kv))
	p = t.put(a, "2")
	t.expect(p.Header.Revision == r0+2, "put a again: rev %d, want %d", p.Header.Revision, r0+2)
	kv = t.one(a)
	t.expect(kv.CreateRevision == r0+1 && kv.ModRevision == r0+2 && kv.Version == 2, "after update: %s", kvDesc(kv))
	d, err := t.cli.Delete(t.ctx, a)
	t.check(err, "Delete a")
	t.expect(d.Deleted == 1 && d.Header.Revision == r0+3, "delete a: deleted=%d rev=%d, want 1, %d", d.Deleted, d.Header.Revision, r0+3)
	d, err = t.cli.Delete(t.ctx, t.key("missing"))
	t.check(err, "Delete missing")
	t.expect(d.Deleted == 0 && d.Header.Revision == r0+3, "delete of a missing key: deleted=%d rev=%d, want 0, %d (no bump)", d.Deleted, d.Header.Revision, r0+3)
	p = t.put(a, "3")
	t.expect(p.Header.Revision == r0+4, "re-create a: rev %d, want %d", p.Header.Revision, r0+4)
	kv = t.one(a)
	t.expect(kv.CreateRevision == r0+4 && kv.ModRevision == r0+4 && kv.Version == 1, "after re-create (version restarts at 1): %s", kvDesc(kv))

	tx := t.txn("3 writes", nil, []clientv3.Op{clientv3.OpPut(b, "B"), clientv3.OpPut(c, "C"), clientv3.OpDelete(a)}, nil)
	t.expect(tx.Succeeded && tx.Header.Revision == r0+5, "write txn: succeeded=%v rev=%d, want true, %d", tx.Succeeded, tx.Header.Revision, r0+5)
	kb, kc := t.one(b), t.one(c)
	t.expect(kb.ModRevision == r0+5 && kc.ModRevision == r0+5, "txn writes share the revision: b=%s c=%s", kvDesc(kb), kvDesc(kc))
	t.absent(a)

	tx = t.txn("read-only", []clientv3.Cmp{clientv3.Compare(clientv3.Version(b), ">", 0)}, []clientv3.Op{clientv3.OpGet(b)}, nil)
	t.expect(tx.Succeeded && tx.Header.Revision == r0+5, "read-only txn: succeeded=%v rev=%d, want true, %d", tx.Succeeded, tx.Header.Revision, r0+5)
	tx = t.txn("failed compare", []clientv3.Cmp{clientv3.Compare(clientv3.Version(b), "=", 7)},
		[]clientv3.Op{clientv3.OpPut(b, "never")}, []clientv3.Op{clientv3.OpGet(b)})
	t.expect(!tx.Succeeded && tx.Header.Revision == r0+5, "else branch with only reads: succeeded=%v rev=%d, want false, %d", tx.Succeeded, tx.Header.Revision, r0+5)
	tx = t.txn("empty", nil, nil, nil)
	t.expect(tx.Succeeded && tx.Header.Revision == r0+5, "empty txn: succeeded=%v rev=%d", tx.Succeeded, tx.Header.Revision)
	t.expect(t.rev() == r0+5, "final revision %d, want %d", t.rev(), r0+5)

	// Sub revisions: the three changes at r0+5 arrive in one response, in op order.
	wch := t.cli.Watch(t.ctx, t.pfx, clientv3.WithPrefix(), clientv3.WithRev(r0+5), clientv3.WithPrevKV())
	resps, evs := t.collect(wch, 3, "watch of the txn revision")
	t.expect(len(resps) == 1, "the txn's 3 events came in %d responses, want 1", len(resps))
	got := evsDesc(evs)
	want := fmt.Sprintf(`[PUT %q="B"@%d prev=-, PUT %q="C"@%d prev=-, DELETE %q=""@%d prev="3"]`, b, r0+5, c, r0+5, a, r0+5)
	t.expect(got == want, "txn events: %s, want %s", got, want)
	t.notef("revisions %d..%d", r0, r0+5)
}

// count and more over pages (kube's pagination: continue key, pinned revision), count_only,
// keys_only, sort + limit, and limit applied after min_mod_revision filtering.
func caseCountMorePages(t *T) {
	pfx := t.key("p/")
	end := clientv3.GetPrefixRangeEnd(pfx)
	var mods []int64
	for i := 0; i < 10; i++ {
		mods = append(mods, t.put(fmt.Sprintf("%sk%02d", pfx, i), strconv.Itoa(i)).Header.Revision)
	}
	key, pinned := pfx, int64(0)
	var seen []string
	for page := 0; ; page++ {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(3)}
		if pinned != 0 {
			opts = append(opts, clientv3.WithRev(pinned))
		}
		r := t.get(key, opts...)
		remaining := 10 - 3*page
		wantKvs := min(3, remaining)
		t.expect(r.Count == int64(remaining) && len(r.Kvs) == wantKvs && r.More == (remaining > 3),
			"page %d from %q: count=%d kvs=%d more=%v, want count=%d kvs=%d more=%v", page, key, r.Count, len(r.Kvs), r.More, remaining, wantKvs, remaining > 3)
		if page == 0 {
			pinned = r.Header.Revision
			// writes between pages are invisible to the pinned revision
			t.put(pfx+"k99", "late")
			_, err := t.cli.Delete(t.ctx, pfx+"k05")
			t.check(err, "Delete k05")
		} else {
			t.expect(r.Header.Revision == pinned+2, "page %d at rev %d: header.revision=%d, want the current %d", page, pinned, r.Header.Revision, pinned+2)
		}
		seen = append(seen, keysOf(r.Kvs)...)
		if !r.More {
			break
		}
		key = string(r.Kvs[len(r.Kvs)-1].Key) + "\x00"
	}
	var want []string
	for i := 0; i < 10; i++ {
		want = append(want, fmt.Sprintf("%sk%02d", pfx, i))
	}
	t.expect(eqStrings(seen, want), "pages gave %v, want %v", seen, want)

	r := t.get(pfx, clientv3.WithPrefix(), clientv3.WithCountOnly())
	t.expect(r.Count == 10 && len(r.Kvs) == 0, "count_only: count=%d kvs=%d, want 10, 0", r.Count, len(r.Kvs))
	r = t.get(pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(2))
	t.expect(r.Count == 10 && len(r.Kvs) == 2 && r.More && len(r.Kvs[0].Value) == 0 && r.Kvs[0].Version == 1,
		"keys_only limit 2: count=%d more=%v kvs=%s", r.Count, r.More, kvsDesc(r.Kvs))
	r = t.get(pfx, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(2))
	t.expect(r.Count == 10 && r.More && eqStrings(keysOf(r.Kvs), []string{pfx + "k99", pfx + "k09"}),
		"sort by mod desc limit 2: count=%d more=%v keys=%v", r.Count, r.More, keysOf(r.Kvs))
	r = t.get(pfx, clientv3.WithPrefix(), clientv3.WithMinModRev(mods[7]), clientv3.WithLimit(2))
	t.expect(r.More && eqStrings(keysOf(r.Kvs), []string{pfx + "k07", pfx + "k08"}),
		"min_mod_revision=%d limit 2: more=%v keys=%v count=%d", mods[7], r.More, keysOf(r.Kvs), r.Count)
	t.notef("min_mod_revision+limit count=%d", r.Count)
	r = t.get(pfx, clientv3.WithPrefix(), clientv3.WithLimit(0))
	t.expect(r.Count == 10 && len(r.Kvs) == 10 && !r.More, "limit 0: count=%d kvs=%d more=%v", r.Count, len(r.Kvs), r.More)
}

// header.revision is the current revision also when reading at an older revision.
func caseHistoricalRead(t *T) {
	k := t.key("k")
	r1 := t.put(k, "v1").Header.Revision
	t.put(k, "v2")
	cur := t.put(t.key("other"), "x").Header.Revision
	for _, serializable := range []bool{false, true} {
		opts := []clientv3.OpOption{clientv3.WithRev(r1)}
		if serializable {
			opts = append(opts, clientv3.WithSerializable())
		}
		var r *clientv3.GetResponse
		if serializable {
			// A serializable read may be served by a follower that has not applied cur yet (it may even
			// answer "future revision" for r1): wait, bounded, until the member serving it caught up.
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, err := t.cli.Get(t.ctx, k, opts...)
				if err == nil && got.Header.Revision >= cur {
					r = got
					break
				}
				if time.Now().After(deadline) {
					r = t.get(k, opts...)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		} else {
			r = t.get(k, opts...)
		}
		t.expect(len(r.Kvs) == 1 && string(r.Kvs[0].Value) == "v1" && r.Kvs[0].ModRevision == r1,
			"read at rev %d (serializable=%v): %s", r1, serializable, kvsDesc(r.Kvs))
		t.expect(r.Header.Revision >= cur, "read at rev %d (serializable=%v): header.revision=%d, want current %d", r1, serializable, r.Header.Revision, cur)
	}
	r := t.get(k, clientv3.WithRev(r1-1))
	t.expect(len(r.Kvs) == 0 && r.Count == 0, "read before the key existed: %s", kvsDesc(r.Kvs))
}

// Compact: reads below the compaction revision fail with ErrCompacted, the compaction revision
// itself is readable, future revisions fail with ErrFutureRev, re-compacting fails.
func caseCompaction(t *T) {
	k := t.key("k")
	r1 := t.put(k, "v1").Header.Revision
	r2 := t.put(k, "v2").Header.Revision
	r3 := t.put(k, "v3").Header.Revision
	cr, err := t.cli.Compact(t.ctx, r2)
	t.check(err, fmt.Sprintf("Compact(%d)", r2))
	t.expect(cr.Header.Revision == r3, "compact response header.revision=%d, want %d", cr.Header.Revision, r3)

	_, err = t.cli.Get(t.ctx, k, clientv3.WithRev(r1))
	t.expectErr(err, rpctypes.ErrCompacted, fmt.Sprintf("Get at compacted rev %d", r1))
	t.expect(err.Error() == "etcdserver: mvcc: required revision has been compacted", "message %q", err.Error())
	r := t.get(k, clientv3.WithRev(r2))
	t.expect(len(r.Kvs) == 1 && string(r.Kvs[0].Value) == "v2", "Get at the compaction revision %d: %s", r2, kvsDesc(r.Kvs))
	_, err = t.cli.Get(t.ctx, k, clientv3.WithRev(r3+100))
	t.expectErr(err, rpctypes.ErrFutureRev, "Get at a future revision")
	t.expect(err.Error() == "etcdserver: mvcc: required revision is a future revision", "message %q", err.Error())
	_, err = t.cli.Txn(t.ctx).Then(clientv3.OpGet(k, clientv3.WithRev(r1))).Commit()
	t.expectErr(err, rpctypes.ErrCompacted, "Txn with a Range at a compacted revision")

	_, err = t.cli.Compact(t.ctx, r2)
	t.expectErr(err, rpctypes.ErrCompacted, "Compact at the same revision again")
	_, err = t.cli.Compact(t.ctx, r1)
	t.expectErr(err, rpctypes.ErrCompacted, "Compact below the compaction revision")
	_, err = t.cli.Compact(t.ctx, r3+100)
	t.expectErr(err, rpctypes.ErrFutureRev, "Compact at a future revision")
	_, err = t.cli.Compact(t.ctx, r3, clientv3.WithCompactPhysical())
	t.check(err, fmt.Sprintf("Compact(%d, physical)", r3))
	_, err = t.cli.Get(t.ctx, k, clientv3.WithRev(r2))
	t.expectErr(err, rpctypes.ErrCompacted, "Get at the previous compaction revision after compacting further")
	kv := t.one(k)
	t.expect(string(kv.Value) == "v3" && kv.Version == 3, "latest after compaction: %s", kvDesc(kv))
}

// Empty keys are refused with ErrEmptyKey everywhere.
func caseEmptyKey(t *T) {
	_, err := t.cli.Put(t.ctx, "", "v")
	t.expectErr(err, rpctypes.ErrEmptyKey, "Put with an empty key")
	t.expect(err.Error() == "etcdserver: key is not provided", "message %q", err.Error())
	_, err = t.cli.Get(t.ctx, "")
	t.expectErr(err, rpctypes.ErrEmptyKey, "Get with an empty key")
	_, err = t.cli.Delete(t.ctx, "")
	t.expectErr(err, rpctypes.ErrEmptyKey, "Delete with an empty key")
	_, err = t.cli.Txn(t.ctx).Then(clientv3.OpPut("", "v")).Commit()
	t.expectErr(err, rpctypes.ErrEmptyKey, "Txn Put with an empty key")
}

// At most 128 ops per branch (and compares).
func caseTooManyOps(t *T) {
	ops := func(n int, tag string) []clientv3.Op {
		out := make([]clientv3.Op, n)
		for i := range out {
			out[i] = clientv3.OpPut(fmt.Sprintf("%s%s/%03d", t.pfx, tag, i), "x")
		}
		return out
	}
	r0 := t.rev()
	tx := t.txn("128 puts", nil, ops(128, "ok"), nil)
	t.expect(tx.Succeeded && tx.Header.Revision == r0+1 && len(tx.Responses) == 128, "128 puts: succeeded=%v rev=%d (want %d) responses=%d", tx.Succeeded, tx.Header.Revision, r0+1, len(tx.Responses))
	_, err := t.cli.Txn(t.ctx).Then(ops(129, "then")...).Commit()
	t.expectErr(err, rpctypes.ErrTooManyOps, "129 ops in then")
	t.expect(err.Error() == "etcdserver: too many operations in txn request", "message %q", err.Error())
	_, err = t.cli.Txn(t.ctx).Else(ops(129, "else")...).Commit()
	t.expectErr(err, rpctypes.ErrTooManyOps, "129 ops in else")
	cmps := make([]clientv3.Cmp, 129)
	for i := range cmps {
		cmps[i] = clientv3.Compare(clientv3.Version(fmt.Sprintf("%scmp/%03d", t.pfx, i)), "=", 0)
	}
	_, err = t.cli.Txn(t.ctx).If(cmps...).Commit()
	t.expectErr(err, rpctypes.ErrTooManyOps, "129 compares")
	t.expect(t.rev() == r0+1, "refused txns must not write: rev %d, want %d", t.rev(), r0+1)
}

// A key written twice in one txn (put/put, put/delete, put/delete-range, nested) is refused.
func caseDuplicateKey(t *T) {
	k := t.key("k")
	dup := func(what string, ops ...clientv3.Op) {
		_, err := t.cli.Txn(t.ctx).Then(ops...).Commit()
		t.expectErr(err, rpctypes.ErrDuplicateKey, what)
		t.expect(err.Error() == "etcdserver: duplicate key given in txn request", "%s: message %q", what, err.Error())
	}
	dup("put, put", clientv3.OpPut(k, "a"), clientv3.OpPut(k, "b"))
	dup("put, delete", clientv3.OpPut(k, "a"), clientv3.OpDelete(k))
	dup("put, delete prefix covering it", clientv3.OpPut(k, "a"), clientv3.OpDelete(t.pfx, clientv3.WithPrefix()))
	dup("put, nested txn put", clientv3.OpPut(k, "a"), clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpPut(k, "b")}, nil))
	tx := t.txn("get then put", nil, []clientv3.Op{clientv3.OpGet(k), clientv3.OpPut(k, "a")}, nil)
	t.expect(tx.Succeeded, "get+put of one key must be allowed")
	tx = t.txn("put in then, put in else", []clientv3.Cmp{clientv3.Compare(clientv3.Value(k), "=", "a")},
		[]clientv3.Op{clientv3.OpPut(k, "b")}, []clientv3.Op{clientv3.OpPut(k, "c")})
	t.expect(tx.Succeeded, "one put per branch must be allowed")
	t.expect(string(t.one(k).Value) == "b", "value after txn: %s", kvDesc(t.one(k)))
}

// ignore_value / ignore_lease: need an existing key; refuse a value/lease given with them.
func caseIgnoreValueLease(t *T) {
	k := t.key("k")
	_, err := t.cli.Put(t.ctx, k, "", clientv3.WithIgnoreValue())
	t.expectErr(err, rpctypes.ErrKeyNotFound, "ignore_value on a missing key")
	t.expect(err.Error() == "etcdserver: key not found", "message %q", err.Error())
	_, err = t.cli.Put(t.ctx, k, "v", clientv3.WithIgnoreLease())
	t.expectErr(err, rpctypes.ErrKeyNotFound, "ignore_lease on a missing key")
	g, err := t.cli.Grant(t.ctx, 60)
	t.check(err, "Grant")
	defer t.cli.Revoke(t.ctx, g.ID) //nolint:errcheck
	t.put(k, "v1", clientv3.WithLease(g.ID))
	_, err = t.cli.Put(t.ctx, k, "x", clientv3.WithIgnoreValue())
	t.expectErr(err, rpctypes.ErrValueProvided, "ignore_value with a value")
	t.expect(err.Error() == "etcdserver: value is provided", "message %q", err.Error())
	_, err = t.cli.Put(t.ctx, k, "x", clientv3.WithIgnoreLease(), clientv3.WithLease(g.ID))
	t.expectErr(err, rpctypes.ErrLeaseProvided, "ignore_lease with a lease")
	t.expect(err.Error() == "etcdserver: lease is provided", "message %q", err.Error())

	p := t.put(k, "", clientv3.WithIgnoreValue(), clientv3.WithLease(g.ID), clientv3.WithPrevKV())
	t.expect(p.PrevKv != nil && string(p.PrevKv.Value) == "v1", "ignore_value prev_kv: %s", kvDesc(p.PrevKv))
	kv := t.one(k)
	t.expect(string(kv.Value) == "v1" && kv.Version == 2 && kv.Lease == int64(g.ID), "after ignore_value: %s", kvDesc(kv))
	t.put(k, "v2", clientv3.WithIgnoreLease())
	kv = t.one(k)
	t.expect(string(kv.Value) == "v2" && kv.Version == 3 && kv.Lease == int64(g.ID), "after ignore_lease: %s (lease kept %x)", kvDesc(kv), g.ID)
	t.put(k, "", clientv3.WithIgnoreValue())
	kv = t.one(k)
	t.expect(string(kv.Value) == "v2" && kv.Version == 4 && kv.Lease == 0, "ignore_value without a lease detaches it: %s", kvDesc(kv))
}

// prev_kv on put and delete.
func casePrevKV(t *T) {
	k, k2 := t.key("pk/a"), t.key("pk/b")
	p := t.put(k, "v1", clientv3.WithPrevKV())
	t.expect(p.PrevKv == nil, "put of a new key: prev_kv=%s, want none", kvDesc(p.PrevKv))
	p = t.put(k, "v2", clientv3.WithPrevKV())
	t.expect(p.PrevKv != nil && string(p.PrevKv.Value) == "v1" && p.PrevKv.Version == 1, "put: prev_kv=%s, want v1 version 1", kvDesc(p.PrevKv))
	p = t.put(k, "v3")
	t.expect(p.PrevKv == nil, "put without prev_kv returned %s", kvDesc(p.PrevKv))
	t.put(k2, "x")
	d, err := t.cli.Delete(t.ctx, t.key("pk/"), clientv3.WithPrefix(), clientv3.WithPrevKV())
	t.check(err, "Delete prefix")
	t.expect(d.Deleted == 2 && len(d.PrevKvs) == 2, "delete prefix: deleted=%d prev_kvs=%s", d.Deleted, kvsDesc(d.PrevKvs))
	t.expect(string(d.PrevKvs[0].Key) == k && string(d.PrevKvs[0].Value) == "v3" && string(d.PrevKvs[1].Key) == k2 && string(d.PrevKvs[1].Value) == "x",
		"delete prev_kvs: %s", kvsDesc(d.PrevKvs))
	d, err = t.cli.Delete(t.ctx, t.key("pk/none"), clientv3.WithPrevKV())
	t.check(err, "Delete missing")
	t.expect(d.Deleted == 0 && len(d.PrevKvs) == 0, "delete missing: deleted=%d prev_kvs=%s", d.Deleted, kvsDesc(d.PrevKvs))
	t.put(k, "v4")
	tx := t.txn("put prev_kv in txn", nil, []clientv3.Op{clientv3.OpPut(k, "v5", clientv3.WithPrevKV())}, nil)
	pr := tx.Responses[0].GetResponsePut()
	t.expect(pr != nil && pr.PrevKv != nil && string(pr.PrevKv.Value) == "v4", "txn put prev_kv: %v", pr)
}

// kube-apiserver create: Txn{MOD(key)==0 → Put(key, value, lease)}.
func caseKubeCreate(t *T) {
	key := t.key("registry/pods/ns/a")
	g, err := t.cli.Grant(t.ctx, 3600)
	t.check(err, "Grant")
	defer t.cli.Revoke(t.ctx, g.ID) //nolint:errcheck
	r0 := t.rev()
	create := func() *clientv3.TxnResponse {
		return t.txn("create", []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", 0)},
			[]clientv3.Op{clientv3.OpPut(key, "obj-v1", clientv3.WithLease(g.ID))}, nil)
	}
	tx := create()
	t.expect(tx.Succeeded && tx.Header.Revision == r0+1 && len(tx.Responses) == 1 && tx.Responses[0].GetResponsePut() != nil,
		"create: succeeded=%v rev=%d responses=%v", tx.Succeeded, tx.Header.Revision, tx.Responses)
	kv := t.one(key)
	t.expect(kv.CreateRevision == r0+1 && kv.ModRevision == r0+1 && kv.Version == 1 && kv.Lease == int64(g.ID), "created: %s", kvDesc(kv))
	tx = create()
	t.expect(!tx.Succeeded && len(tx.Responses) == 0 && tx.Header.Revision == r0+1,
		"create of an existing key: succeeded=%v responses=%d rev=%d, want false, 0, %d", tx.Succeeded, len(tx.Responses), tx.Header.Revision, r0+1)
}

// kube-apiserver update: Txn{MOD(key)==rev → Put; else → Range(key)}.
func caseKubeUpdate(t *T) {
	key := t.key("registry/pods/ns/a")
	rev1 := t.put(key, "obj-v1").Header.Revision
	update := func(rev int64, val string) *clientv3.TxnResponse {
		return t.txn("update", []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)},
			[]clientv3.Op{clientv3.OpPut(key, val)}, []clientv3.Op{clientv3.OpGet(key)})
	}
	tx := update(rev1, "obj-v2")
	t.expect(tx.Succeeded && tx.Header.Revision == rev1+1 && len(tx.Responses) == 1 && tx.Responses[0].GetResponsePut() != nil,
		"update: succeeded=%v rev=%d responses=%v", tx.Succeeded, tx.Header.Revision, tx.Responses)
	rev2 := tx.Header.Revision
	tx = update(rev1, "obj-stale")
	t.expect(!tx.Succeeded && tx.Header.Revision == rev2 && len(tx.Responses) == 1, "stale update: succeeded=%v rev=%d responses=%d", tx.Succeeded, tx.Header.Revision, len(tx.Responses))
	rr := tx.Responses[0].GetResponseRange()
	t.expect(rr != nil && len(rr.Kvs) == 1 && string(rr.Kvs[0].Value) == "obj-v2" && rr.Kvs[0].ModRevision == rev2 && rr.Count == 1,
		"stale update else-range: %v", rr)
	t.expect(rr.Header == nil || rr.Header.Revision == rev2, "else-range header: %v", rr.Header)
}

// kube-apiserver delete: Txn{MOD(key)==rev → DeleteRange(key); else → Range(key)}.
func caseKubeDelete(t *T) {
	key := t.key("registry/pods/ns/a")
	rev1 := t.put(key, "obj-v1").Header.Revision
	del := func(rev int64, prev bool) *clientv3.TxnResponse {
		var opts []clientv3.OpOption
		if prev {
			opts = append(opts, clientv3.WithPrevKV())
		}
		return t.txn("delete", []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)},
			[]clientv3.Op{clientv3.OpDelete(key, opts...)}, []clientv3.Op{clientv3.OpGet(key)})
	}
	tx := del(rev1-1, false)
	t.expect(!tx.Succeeded && len(tx.Responses) == 1, "stale delete: succeeded=%v responses=%d", tx.Succeeded, len(tx.Responses))
	rr := tx.Responses[0].GetResponseRange()
	t.expect(rr != nil && len(rr.Kvs) == 1 && rr.Kvs[0].ModRevision == rev1, "stale delete else-range: %v", rr)
	tx = del(rev1, false)
	dr := tx.Responses[0].GetResponseDeleteRange()
	t.expect(tx.Succeeded && tx.Header.Revision == rev1+1 && dr != nil && dr.Deleted == 1, "delete: succeeded=%v rev=%d resp=%v", tx.Succeeded, tx.Header.Revision, dr)
	t.absent(key)
	rev3 := t.put(key, "obj-v2").Header.Revision
	tx = del(rev3, true)
	dr = tx.Responses[0].GetResponseDeleteRange()
	t.expect(tx.Succeeded && dr != nil && dr.Deleted == 1 && len(dr.PrevKvs) == 1 && string(dr.PrevKvs[0].Value) == "obj-v2",
		"delete with prev_kv: succeeded=%v resp=%v", tx.Succeeded, dr)
}

// kube-apiserver compaction: Txn{VERSION("compact_rev_key")==t → Put(rev); else → Range} then Compact(rev),
// played as two apiservers would, one with a stale t.
func caseKubeCompaction(t *T) {
	const compactRevKey = "compact_rev_key"
	try := func(curTime int64, rev int64) *clientv3.TxnResponse {
		return t.txn("compact_rev_key", []clientv3.Cmp{clientv3.Compare(clientv3.Version(compactRevKey), "=", curTime)},
			[]clientv3.Op{clientv3.OpPut(compactRevKey, strconv.FormatInt(rev, 10))}, []clientv3.Op{clientv3.OpGet(compactRevKey)})
	}
	// apiserver A, first round: t=0, no compaction yet (rev 0), remembers the revision.
	t.put(t.key("obj"), "1")
	tx := try(0, 0)
	t.expect(tx.Succeeded, "first round (t=0): not succeeded: %v", tx.Responses)
	curRev := tx.Header.Revision
	t.put(t.key("obj"), "2")
	// apiserver B with a stale t=0 loses and learns the version from the else-range.
	tx = try(0, 0)
	t.expect(!tx.Succeeded && len(tx.Responses) == 1, "stale round: succeeded=%v responses=%d", tx.Succeeded, len(tx.Responses))
	rr := tx.Responses[0].GetResponseRange()
	t.expect(rr != nil && len(rr.Kvs) == 1 && rr.Kvs[0].Version == 1, "stale round else-range: %v", rr)
	curTime := rr.Kvs[0].Version
	// next round: wins with t=1, compacts to the revision remembered from the round before.
	tx = try(curTime, curRev)
	t.expect(tx.Succeeded, "round with t=%d: not succeeded: %v", curTime, tx.Responses)
	_, err := t.cli.Compact(t.ctx, curRev)
	t.check(err, fmt.Sprintf("Compact(%d)", curRev))
	_, err = t.cli.Get(t.ctx, t.key("obj"), clientv3.WithRev(curRev-1))
	t.expectErr(err, rpctypes.ErrCompacted, "Get below the kube compaction")
	kv := t.one(compactRevKey)
	t.expect(kv.Version == 2 && string(kv.Value) == strconv.FormatInt(curRev, 10), "compact_rev_key: %s", kvDesc(kv))
}

// Nested txns (clientv3.OpTxn): responses nest, all writes share one revision.
func caseNestedTxn(t *T) {
	a, b := t.key("a"), t.key("b")
	r0 := t.rev()
	inner := clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Version(b), "=", 0)},
		[]clientv3.Op{clientv3.OpPut(b, "1")}, []clientv3.Op{clientv3.OpGet(b)})
	tx := t.txn("nested", []clientv3.Cmp{clientv3.Compare(clientv3.Version(a), "=", 0)},
		[]clientv3.Op{clientv3.OpPut(a, "1"), inner}, []clientv3.Op{clientv3.OpGet(a), inner})
	t.expect(tx.Succeeded && len(tx.Responses) == 2 && tx.Header.Revision == r0+1, "outer: succeeded=%v responses=%d rev=%d", tx.Succeeded, len(tx.Responses), tx.Header.Revision)
	in := tx.Responses[1].GetResponseTxn()
	t.expect(in != nil && in.Succeeded && len(in.Responses) == 1 && in.Responses[0].GetResponsePut() != nil, "inner: %v", in)
	ka, kb := t.one(a), t.one(b)
	t.expect(ka.ModRevision == r0+1 && kb.ModRevision == r0+1, "nested writes share the revision: %s %s", kvDesc(ka), kvDesc(kb))
	tx = t.txn("nested again", []clientv3.Cmp{clientv3.Compare(clientv3.Version(a), "=", 0)},
		[]clientv3.Op{clientv3.OpPut(a, "1"), inner}, []clientv3.Op{clientv3.OpGet(a), inner})
	t.expect(!tx.Succeeded && len(tx.Responses) == 2 && tx.Header.Revision == r0+1, "outer again: succeeded=%v rev=%d", tx.Succeeded, tx.Header.Revision)
	in = tx.Responses[1].GetResponseTxn()
	t.expect(in != nil && !in.Succeeded && len(in.Responses) == 1 && in.Responses[0].GetResponseRange() != nil && len(in.Responses[0].GetResponseRange().Kvs) == 1,
		"inner else: %v", in)
}

// Every compare target and result, missing keys compare as 0, range compares.
func caseCompareKinds(t *T) {
	a, m := t.key("a"), t.key("missing")
	g, err := t.cli.Grant(t.ctx, 600)
	t.check(err, "Grant")
	defer t.cli.Revoke(t.ctx, g.ID) //nolint:errcheck
	createA := t.put(a, "v1").Header.Revision
	modA := t.put(a, "v2", clientv3.WithLease(g.ID)).Header.Revision
	t.put(t.key("r/1"), "x")
	t.put(t.key("r/2"), "x")
	t.put(t.key("r/2"), "y")
	cases := []struct {
		what string
		cmp  clientv3.Cmp
		want bool
	}{
		{"version = 2", clientv3.Compare(clientv3.Version(a), "=", 2), true},
		{"version > 1", clientv3.Compare(clientv3.Version(a), ">", 1), true},
		{"version < 2", clientv3.Compare(clientv3.Version(a), "<", 2), false},
		{"version != 2", clientv3.Compare(clientv3.Version(a), "!=", 2), false},
		{"create = createA", clientv3.Compare(clientv3.CreateRevision(a), "=", createA), true},
		{"create > createA", clientv3.Compare(clientv3.CreateRevision(a), ">", createA), false},
		{"mod = modA", clientv3.Compare(clientv3.ModRevision(a), "=", modA), true},
		{"mod < modA+1", clientv3.Compare(clientv3.ModRevision(a), "<", modA+1), true},
		{"mod != modA", clientv3.Compare(clientv3.ModRevision(a), "!=", modA), false},
		{`value = "v2"`, clientv3.Compare(clientv3.Value(a), "=", "v2"), true},
		{`value > "v1"`, clientv3.Compare(clientv3.Value(a), ">", "v1"), true},
		{`value < "v1"`, clientv3.Compare(clientv3.Value(a), "<", "v1"), false},
		{`value != "x"`, clientv3.Compare(clientv3.Value(a), "!=", "x"), true},
		{"lease = granted", clientv3.Compare(clientv3.LeaseValue(a), "=", g.ID), true},
		{"lease = 0", clientv3.Compare(clientv3.LeaseValue(a), "=", 0), false},
		{"missing: version = 0", clientv3.Compare(clientv3.Version(m), "=", 0), true},
		{"missing: create = 0", clientv3.Compare(clientv3.CreateRevision(m), "=", 0), true},
		{"missing: mod = 0", clientv3.Compare(clientv3.ModRevision(m), "=", 0), true},
		{"missing: lease = 0", clientv3.Compare(clientv3.LeaseValue(m), "=", 0), true},
		{`missing: value = ""`, clientv3.Compare(clientv3.Value(m), "=", ""), false},
		{"empty range: version = 0", clientv3.Compare(clientv3.Version(t.key("none/")), "=", 0).WithPrefix(), true},
		{"prefix: every version > 0", clientv3.Compare(clientv3.Version(t.key("r/")), ">", 0).WithPrefix(), true},
		{"prefix: every version = 1", clientv3.Compare(clientv3.Version(t.key("r/")), "=", 1).WithPrefix(), false},
		{"range [r/1, r/2): version = 1", clientv3.Compare(clientv3.Version(t.key("r/1")), "=", 1).WithRange(t.key("r/2")), true},
	}
	r0 := t.rev()
	for _, c := range cases {
		tx := t.txn(c.what, []clientv3.Cmp{c.cmp}, nil, nil)
		t.expect(tx.Succeeded == c.want, "compare %s: succeeded=%v, want %v", c.what, tx.Succeeded, c.want)
	}
	t.expect(t.rev() == r0, "read-only compares bumped the revision %d → %d", r0, t.rev())
}

// Negative limit and revision are not errors: etcd treats them as "no limit" and "latest".
func caseNegativeLimitRevision(t *T) {
	for i := 0; i < 3; i++ {
		t.put(t.key(fmt.Sprintf("k%d", i)), "v")
	}
	r := t.get(t.pfx, clientv3.WithPrefix(), clientv3.WithLimit(-1))
	t.expect(r.Count == 3 && len(r.Kvs) == 3 && !r.More, "limit -1: count=%d kvs=%d more=%v", r.Count, len(r.Kvs), r.More)
	r = t.get(t.key("k0"), clientv3.WithRev(-5))
	t.expect(len(r.Kvs) == 1, "revision -5: %s", kvsDesc(r.Kvs))
}

// A request above --max-request-bytes (1.5 MiB) is refused with ErrRequestTooLarge (the client's
// own send limit is 2 MiB, so the server decides).
func caseRequestTooLarge(t *T) {
	_, err := t.cli.Put(t.ctx, t.key("big"), strings.Repeat("x", 1600*1024))
	t.expectErr(err, rpctypes.ErrRequestTooLarge, "Put of 1.6 MiB")
	t.expect(err.Error() == "etcdserver: request is too large", "message %q", err.Error())
	t.absent(t.key("big"))
	t.put(t.key("fits"), strings.Repeat("x", 1024*1024))
}
