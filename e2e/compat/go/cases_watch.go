package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A watch from an old revision replays history in order, with prev_kv, one response per revision.
func caseWatchReplay(t *T) {
	k1, k2, k3, k4 := t.key("h/1"), t.key("h/2"), t.key("h/3"), t.key("h/4")
	r0 := t.rev()
	t.put(k1, "v1")
	t.put(k1, "v2")
	t.put(k2, "x")
	_, err := t.cli.Delete(t.ctx, k1)
	t.check(err, "Delete k1")
	t.txn("two puts", nil, []clientv3.Op{clientv3.OpPut(k3, "a"), clientv3.OpPut(k4, "b")}, nil)
	_, err = t.cli.Delete(t.ctx, t.key("h/"), clientv3.WithPrefix())
	t.check(err, "Delete prefix")

	wch := t.cli.Watch(t.ctx, t.key("h/"), clientv3.WithPrefix(), clientv3.WithRev(r0+1), clientv3.WithPrevKV())
	resps, evs := t.collect(wch, 9, "replay")
	want := fmt.Sprintf("[PUT %q=\"v1\"@%d prev=-, PUT %q=\"v2\"@%d prev=\"v1\", PUT %q=\"x\"@%d prev=-, DELETE %q=\"\"@%d prev=\"v2\", "+
		"PUT %q=\"a\"@%d prev=-, PUT %q=\"b\"@%d prev=-, DELETE %q=\"\"@%d prev=\"x\", DELETE %q=\"\"@%d prev=\"a\", DELETE %q=\"\"@%d prev=\"b\"]",
		k1, r0+1, k1, r0+2, k2, r0+3, k1, r0+4, k3, r0+5, k4, r0+5, k2, r0+6, k3, r0+6, k4, r0+6)
	t.expect(evsDesc(evs) == want, "replayed %s\nwant %s", evsDesc(evs), want)
	t.expect(evs[0].IsCreate() && !evs[1].IsCreate() && evs[1].IsModify() && evs[2].IsCreate() && evs[4].IsCreate(), "IsCreate/IsModify flags wrong: %s", evsDesc(evs))
	t.expect(evs[1].PrevKv.Version == 1 && evs[1].PrevKv.ModRevision == r0+1 && evs[1].Kv.Version == 2 && evs[1].Kv.CreateRevision == r0+1,
		"event 2 versions: kv=%s prev=%s", kvDesc(evs[1].Kv), kvDesc(evs[1].PrevKv))
	// atomic per revision: no revision split across responses
	seenIn := map[int64]int{}
	for i, wr := range resps {
		for _, ev := range wr.Events {
			if j, ok := seenIn[ev.Kv.ModRevision]; ok && j != i {
				t.fatalf("revision %d split across responses %d and %d", ev.Kv.ModRevision, j, i)
			}
			seenIn[ev.Kv.ModRevision] = i
		}
	}
	t.notef("%d events in %d responses", len(evs), len(resps))
}

// A watch at a future revision waits for it; created notification is delivered when asked.
func caseWatchFutureRev(t *T) {
	k := t.key("k")
	cur := t.rev()
	wch := t.cli.Watch(t.ctx, k, clientv3.WithRev(cur+2), clientv3.WithCreatedNotify())
	t.awaitCreated(wch, "future watch")
	t.put(k, "a")
	t.put(k, "b")
	_, evs := t.collect(wch, 1, "future watch")
	t.expect(len(evs) == 1 && string(evs[0].Kv.Value) == "b" && evs[0].Kv.ModRevision == cur+2, "future watch events: %s, want only b@%d", evsDesc(evs), cur+2)
}

// A watch from a compacted revision gets CompactRevision set (ErrCompacted), is canceled and closed.
func caseWatchCompacted(t *T) {
	k := t.key("k")
	r1 := t.put(k, "1").Header.Revision
	t.put(k, "2")
	r3 := t.put(k, "3").Header.Revision
	_, err := t.cli.Compact(t.ctx, r3)
	t.check(err, "Compact")
	wctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	wch := t.cli.Watch(wctx, k, clientv3.WithRev(r1))
	var got *clientv3.WatchResponse
	for got == nil {
		select {
		case <-t.ctx.Done():
			t.fatalf("no compacted response before the deadline")
		case wr, ok := <-wch:
			t.expect(ok, "watch channel closed without a compacted response")
			t.expect(len(wr.Events) == 0, "compacted watch delivered events: %s", evsDesc(wr.Events))
			if wr.CompactRevision != 0 || wr.Canceled {
				got = &wr
			}
		}
	}
	t.expect(got.CompactRevision == r3, "CompactRevision=%d, want %d", got.CompactRevision, r3)
	t.expect(got.Canceled, "compacted response not canceled: %+v", got)
	t.expect(errors.Is(got.Err(), rpctypes.ErrCompacted), "wr.Err()=%s, want ErrCompacted", errDesc(got.Err()))
	select {
	case <-t.ctx.Done():
		t.fatalf("watch channel not closed after the compacted response")
	case wr, ok := <-wch:
		t.expect(!ok, "response after the compacted cancel: %+v", wr)
	}
	// the stream still serves other watchers
	wch2 := t.cli.Watch(wctx, k, clientv3.WithRev(r3))
	_, evs := t.collect(wch2, 1, "watch at the compaction revision")
	t.expect(string(evs[0].Kv.Value) == "3", "watch at compaction revision: %s", evsDesc(evs))
}

// RequestProgress answers with a progress notification (IsProgressNotify) at the current revision.
func caseWatchProgressRequest(t *T) {
	k := t.key("k")
	wctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	wch := t.cli.Watch(wctx, k, clientv3.WithCreatedNotify())
	t.awaitCreated(wch, "watch")
	cur := t.put(t.key("elsewhere"), "x").Header.Revision
	// A progress notification reports the revision the watch stream has caught up to on the member
	// serving it, which may trail a write acknowledged by another member: like kube-apiserver, keep
	// requesting until it reaches the revision of the write (bounded by the case context).
	requests, last := 0, int64(0)
	for last < cur {
		t.check(t.cli.RequestProgress(wctx), "RequestProgress")
		requests++
		select {
		case <-t.ctx.Done():
			t.fatalf("no progress notification at ≥ %d before the deadline (%d requests, last at %d)", cur, requests, last)
		case wr, ok := <-wch:
			t.expect(ok, "watch closed")
			t.expect(wr.IsProgressNotify(), "response is not a progress notification: events=%s created=%v canceled=%v header=%v",
				evsDesc(wr.Events), wr.Created, wr.Canceled, wr.Header)
			t.expect(wr.Header.Revision >= last, "progress went backwards: %d after %d", wr.Header.Revision, last)
			last = wr.Header.Revision
		}
	}
	t.notef("progress at %d after %d request(s) (put at %d)", last, requests, cur)
	// still a working watch afterwards
	t.put(k, "after")
	_, evs := t.collect(wch, 1, "after progress")
	t.expect(string(evs[0].Kv.Value) == "after", "event after progress: %s", evsDesc(evs))
}

// WithPrefix delivers only keys under the prefix.
func caseWatchPrefix(t *T) {
	p := t.key("w/")
	wch := t.cli.Watch(t.ctx, p, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	t.awaitCreated(wch, "prefix watch")
	t.put(p+"a", "1")
	t.put(t.key("x"), "outside")
	t.put(t.key("w"), "outside too")
	t.put(p+"b", "2")
	_, err := t.cli.Delete(t.ctx, p+"a")
	t.check(err, "Delete")
	t.put(p+"zz", "sentinel")
	_, evs := t.collect(wch, 4, "prefix watch")
	got := []string{}
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Kv.Key))
	}
	want := []string{"PUT " + p + "a", "PUT " + p + "b", "DELETE " + p + "a", "PUT " + p + "zz"}
	t.expect(eqStrings(got, want), "prefix watch: %v, want %v", got, want)
}

// WithFilterPut drops PUT events (only deletes arrive); WithFilterDelete drops deletes.
func caseWatchFilters(t *T) {
	p := t.key("f/")
	noPut := t.cli.Watch(t.ctx, p, clientv3.WithPrefix(), clientv3.WithFilterPut(), clientv3.WithPrevKV(), clientv3.WithCreatedNotify())
	noDel := t.cli.Watch(t.ctx, p, clientv3.WithPrefix(), clientv3.WithFilterDelete(), clientv3.WithCreatedNotify())
	t.awaitCreated(noPut, "filter-put watch")
	t.awaitCreated(noDel, "filter-delete watch")
	t.put(p+"a", "1")
	t.put(p+"b", "2")
	_, err := t.cli.Delete(t.ctx, p+"a")
	t.check(err, "Delete a")
	t.put(p+"c", "3")
	_, err = t.cli.Delete(t.ctx, p+"b")
	t.check(err, "Delete b")
	_, evs := t.collect(noPut, 2, "filter-put watch")
	t.expect(len(evs) == 2 && evs[0].Type == mvccpb.DELETE && evs[1].Type == mvccpb.DELETE &&
		string(evs[0].Kv.Key) == p+"a" && string(evs[1].Kv.Key) == p+"b" &&
		evs[0].PrevKv != nil && string(evs[0].PrevKv.Value) == "1" && evs[1].PrevKv != nil && string(evs[1].PrevKv.Value) == "2",
		"filter-put: %s", evsDesc(evs))
	_, evs = t.collect(noDel, 3, "filter-delete watch")
	t.expect(len(evs) == 3 && evs[0].Type == mvccpb.PUT && evs[1].Type == mvccpb.PUT && evs[2].Type == mvccpb.PUT && string(evs[2].Kv.Key) == p+"c",
		"filter-delete: %s", evsDesc(evs))
}

// A watch on every member (a client pinned to each, with the hasleader requirement kube uses)
// sees a write made through the shared client.
func caseWatchEveryMember(t *T) {
	k := t.key("k")
	var chans []clientv3.WatchChan
	for _, ep := range t.cfg.endpoints {
		c := t.memberClient(ep)
		wch := c.Watch(clientv3.WithRequireLeader(t.ctx), k, clientv3.WithPrevKV(), clientv3.WithCreatedNotify())
		t.awaitCreated(wch, "watch via "+ep)
		chans = append(chans, wch)
	}
	t.put(k, "1")
	rev := t.put(k, "2").Header.Revision
	for i, wch := range chans {
		_, evs := t.collect(wch, 2, "watch via "+t.cfg.endpoints[i])
		t.expect(string(evs[1].Kv.Value) == "2" && evs[1].Kv.ModRevision == rev && evs[1].PrevKv != nil && string(evs[1].PrevKv.Value) == "1",
			"watch via %s: %s", t.cfg.endpoints[i], evsDesc(evs))
	}
}

// progress_notify: an idle synced watcher gets periodic empty responses at the current revision.
// The servers run with --experimental-watch-progress-notify-interval (the program's
// --progress-notify-interval says which; etcd's default is 10 minutes).
func caseWatchProgressNotify(t *T) {
	wctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	wch := t.cli.Watch(wctx, t.key("k"), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify())
	t.awaitCreated(wch, "watch")
	cur := t.put(t.key("elsewhere"), "x").Header.Revision
	start := time.Now()
	bound := 3*t.cfg.progressInterval + 2*time.Second
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			t.fatalf("no progress notification at ≥ %d within %s (server interval %s)", cur, bound, t.cfg.progressInterval)
		case wr, ok := <-wch:
			t.expect(ok, "watch closed")
			t.expect(wr.IsProgressNotify(), "unexpected response: events=%s created=%v canceled=%v", evsDesc(wr.Events), wr.Created, wr.Canceled)
			if wr.Header.Revision >= cur {
				t.notef("progress notification at %d after %s", wr.Header.Revision, time.Since(start).Round(100*time.Millisecond))
				return
			}
		}
	}
}

// fragment: a revision whose events exceed the request size limit arrives in fragments that the
// client reassembles into one response.
func caseWatchFragment(t *T) {
	const n, size = 100, 12 * 1024 // 1.2 MB per write; the events with prev_kv are twice that
	value := strings.Repeat("x", size)
	write := func() int64 {
		ops := make([]clientv3.Op, n)
		for i := range ops {
			ops[i] = clientv3.OpPut(t.key(fmt.Sprintf("big/%03d", i)), value)
		}
		return t.txn("large write", nil, ops, nil).Header.Revision
	}
	write()
	rev := write()
	wch := t.cli.Watch(t.ctx, t.key("big/"), clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithPrevKV(), clientv3.WithFragment())
	resps, evs := t.collect(wch, n, "fragmented watch")
	t.expect(len(resps) == 1 && len(evs) == n, "%d events in %d responses, want %d in 1", len(evs), len(resps), n)
	for _, ev := range evs {
		t.expect(ev.Kv.ModRevision == rev && len(ev.Kv.Value) == size && ev.PrevKv != nil && len(ev.PrevKv.Value) == size, "event %s", ev.Kv.Key)
	}
}

// Cancelling one watcher (its context) leaves the other watchers of the stream working.
func caseWatchCancel(t *T) {
	k := t.key("k")
	actx, acancel := context.WithCancel(t.ctx)
	a := t.cli.Watch(actx, k, clientv3.WithCreatedNotify())
	b := t.cli.Watch(t.ctx, k, clientv3.WithCreatedNotify())
	t.awaitCreated(a, "watch a")
	t.awaitCreated(b, "watch b")
	acancel()
	for open := true; open; {
		select {
		case <-t.ctx.Done():
			t.fatalf("cancelled watch channel not closed")
		case wr, ok := <-a:
			t.expect(!ok || len(wr.Events) == 0, "cancelled watch delivered %s", evsDesc(wr.Events))
			open = ok
		}
	}
	t.put(k, "v")
	_, evs := t.collect(b, 1, "watch b after a's cancel")
	t.expect(string(evs[0].Kv.Value) == "v", "watch b: %s", evsDesc(evs))
}
