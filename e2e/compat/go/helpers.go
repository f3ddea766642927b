package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// rev is the store's current revision (header of a read of a key nobody writes).
func (t *T) rev() int64 {
	r, err := t.cli.Get(t.ctx, t.key("\xff-revision-probe"))
	t.check(err, "Get (revision probe)")
	return r.Header.Revision
}

func (t *T) put(k, v string, opts ...clientv3.OpOption) *clientv3.PutResponse {
	r, err := t.cli.Put(t.ctx, k, v, opts...)
	t.check(err, fmt.Sprintf("Put %q", k))
	return r
}

func (t *T) get(k string, opts ...clientv3.OpOption) *clientv3.GetResponse {
	r, err := t.cli.Get(t.ctx, k, opts...)
	t.check(err, fmt.Sprintf("Get %q", k))
	return r
}

// one reads exactly one key and fails unless it exists.
func (t *T) one(k string) *mvccpb.KeyValue {
	r := t.get(k)
	t.expect(len(r.Kvs) == 1, "Get %q: %d kvs, want 1", k, len(r.Kvs))
	return r.Kvs[0]
}

func (t *T) absent(k string) {
	r := t.get(k)
	t.expect(len(r.Kvs) == 0 && r.Count == 0, "Get %q: want absent, got count=%d kvs=%s", k, r.Count, kvsDesc(r.Kvs))
}

func (t *T) txn(what string, cmps []clientv3.Cmp, then []clientv3.Op, els []clientv3.Op) *clientv3.TxnResponse {
	r, err := t.cli.Txn(t.ctx).If(cmps...).Then(then...).Else(els...).Commit()
	t.check(err, "Txn "+what)
	return r
}

func kvDesc(kv *mvccpb.KeyValue) string {
	if kv == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%q=%q c=%d m=%d v=%d lease=%x}", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease)
}

func kvsDesc(kvs []*mvccpb.KeyValue) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kvDesc(kv)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func evDesc(ev *clientv3.Event) string {
	prev := "-"
	if ev.PrevKv != nil {
		prev = fmt.Sprintf("%q", ev.PrevKv.Value)
	}
	return fmt.Sprintf("%s %q=%q@%d prev=%s", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision, prev)
}

func evsDesc(evs []*clientv3.Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = evDesc(ev)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func keysOf(kvs []*mvccpb.KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = string(kv.Key)
	}
	return out
}

func sortedStrings(b [][]byte) []string {
	out := make([]string, len(b))
	for i, x := range b {
		out[i] = string(x)
	}
	sort.Strings(out)
	return out
}

func eqStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// collect reads watch responses until n events arrived (or the case context ends, or the channel
// closes, or a response carries an error), and returns the responses and the events in order.
func (t *T) collect(wch clientv3.WatchChan, n int, what string) ([]clientv3.WatchResponse, []*clientv3.Event) {
	var resps []clientv3.WatchResponse
	var evs []*clientv3.Event
	for len(evs) < n {
		select {
		case <-t.ctx.Done():
			t.fatalf("%s: %d of %d events before the deadline: %s", what, len(evs), n, evsDesc(evs))
		case wr, ok := <-wch:
			if !ok {
				t.fatalf("%s: watch channel closed after %d of %d events: %s", what, len(evs), n, evsDesc(evs))
			}
			if err := wr.Err(); err != nil {
				t.fatalf("%s: watch error after %d events: %s (canceled=%v reason=%q compact=%d)", what, len(evs), errDesc(err), wr.Canceled, wr.CancelReason, wr.CompactRevision)
			}
			if len(wr.Events) == 0 {
				continue // created / progress notifications
			}
			resps = append(resps, wr)
			evs = append(evs, wr.Events...)
		}
	}
	return resps, evs
}

// awaitCreated waits for the created notification of a watch opened WithCreatedNotify.
func (t *T) awaitCreated(wch clientv3.WatchChan, what string) clientv3.WatchResponse {
	select {
	case <-t.ctx.Done():
		t.fatalf("%s: no created notification before the deadline", what)
	case wr, ok := <-wch:
		t.expect(ok, "%s: watch channel closed before the created notification", what)
		t.expect(wr.Created, "%s: first response is not the created notification: %+v", what, wr)
		return wr
	}
	panic("unreachable")
}

// memberClient is a client pinned to one endpoint (for per-member checks, and for recipes whose
// serializable reads at a pinned revision must stay on the member that chose the revision).
// Closed when the case ends.
func (t *T) memberClient(ep string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	t.check(err, "client for "+ep)
	go func() {
		<-t.ctx.Done()
		c.Close()
	}()
	return c
}

// role names an endpoint with its raft role (from Status), for failure details.
func (t *T) role(ep string) string {
	st, err := t.cli.Status(t.ctx, ep)
	if err != nil {
		return ep + " (status: " + err.Error() + ")"
	}
	if st.Leader == st.Header.MemberId {
		return ep + " (leader)"
	}
	return ep + " (follower)"
}
