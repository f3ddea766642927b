package main

import (
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

func (t *T) session(ttl int) *concurrency.Session {
	s, err := concurrency.NewSession(t.cli, concurrency.WithTTL(ttl), concurrency.WithContext(t.ctx))
	t.check(err, "NewSession")
	return s
}

// concurrency.Mutex: TryLock fails while held elsewhere; two sessions contending for the lock
// never overlap, and a non-atomic read-modify-write under it loses no increment.
func caseMutex(t *T) {
	s1, s2 := t.session(10), t.session(10)
	defer s1.Close()
	defer s2.Close()
	lockPfx := t.key("lock")
	m1, m2 := concurrency.NewMutex(s1, lockPfx), concurrency.NewMutex(s2, lockPfx)
	t.check(m1.Lock(t.ctx), "m1.Lock")
	err := m2.TryLock(t.ctx)
	t.expect(errors.Is(err, concurrency.ErrLocked), "m2.TryLock while m1 holds it: %s, want ErrLocked", errDesc(err))
	t.check(m1.Unlock(t.ctx), "m1.Unlock")
	t.check(m2.TryLock(t.ctx), "m2.TryLock after unlock")
	t.check(m2.Unlock(t.ctx), "m2.Unlock")

	counter := t.key("counter")
	t.put(counter, "0")
	const perWorker = 5
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []*concurrency.Session{s1, s2} {
		wg.Add(1)
		go func(m *concurrency.Mutex) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				if err := m.Lock(t.ctx); err != nil {
					errs <- fmt.Errorf("Lock: %w", err)
					return
				}
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				r, err := t.cli.Get(t.ctx, counter)
				if err == nil && len(r.Kvs) == 1 {
					n, _ := strconv.Atoi(string(r.Kvs[0].Value))
					_, err = t.cli.Put(t.ctx, counter, strconv.Itoa(n+1))
				}
				inside.Add(-1)
				if uerr := m.Unlock(t.ctx); err == nil {
					err = uerr
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(concurrency.NewMutex(s, lockPfx))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.fatalf("worker: %s", errDesc(err))
	}
	t.expect(overlaps.Load() == 0, "%d overlapping critical sections", overlaps.Load())
	v := string(t.one(counter).Value)
	t.expect(v == strconv.Itoa(2*perWorker), "counter=%s, want %d", v, 2*perWorker)
	r := t.get(lockPfx, clientv3.WithPrefix())
	t.expect(len(r.Kvs) == 0, "lock keys left behind: %s", kvsDesc(r.Kvs))
}

// concurrency.Election: campaign, leader, observe, proclaim, resign hands over to the waiting
// candidate.
func caseElection(t *T) {
	s1, s2, s3 := t.session(10), t.session(10), t.session(10)
	defer s1.Close()
	defer s2.Close()
	defer s3.Close()
	pfx := t.key("election")
	e1, e2, e3 := concurrency.NewElection(s1, pfx), concurrency.NewElection(s2, pfx), concurrency.NewElection(s3, pfx)
	_, err := e3.Leader(t.ctx)
	t.expect(errors.Is(err, concurrency.ErrElectionNoLeader), "Leader before any campaign: %s, want ErrElectionNoLeader", errDesc(err))
	t.check(e1.Campaign(t.ctx, "alpha"), "e1.Campaign")
	leader := func(want string) {
		r, err := e3.Leader(t.ctx)
		t.check(err, "Leader")
		t.expect(len(r.Kvs) == 1 && string(r.Kvs[0].Value) == want, "Leader: %s, want %q", kvsDesc(r.Kvs), want)
	}
	leader("alpha")
	obs := e3.Observe(t.ctx)
	observe := func(want string) {
		for {
			select {
			case <-t.ctx.Done():
				t.fatalf("Observe: %q not seen before the deadline", want)
			case r, ok := <-obs:
				t.expect(ok, "Observe channel closed while waiting for %q", want)
				t.expect(len(r.Kvs) == 1, "Observe: %s", kvsDesc(r.Kvs))
				if string(r.Kvs[0].Value) == want {
					return
				}
			}
		}
	}
	observe("alpha")
	campaigned := make(chan error, 1)
	go func() { campaigned <- e2.Campaign(t.ctx, "beta") }()
	t.check(e1.Proclaim(t.ctx, "alpha-2"), "Proclaim")
	observe("alpha-2")
	leader("alpha-2")
	select {
	case err := <-campaigned:
		t.fatalf("e2.Campaign returned while e1 leads: %s", errDesc(err))
	default:
	}
	t.check(e1.Resign(t.ctx), "e1.Resign")
	select {
	case <-t.ctx.Done():
		t.fatalf("e2.Campaign did not win after e1 resigned")
	case err := <-campaigned:
		t.check(err, "e2.Campaign")
	}
	observe("beta")
	leader("beta")
	t.check(e2.Resign(t.ctx), "e2.Resign")
	_, err = e3.Leader(t.ctx)
	t.expect(errors.Is(err, concurrency.ErrElectionNoLeader), "Leader after everyone resigned: %s", errDesc(err))
}

// STM: concurrent random transfers between accounts keep the total (serializable and
// snapshot-serializable isolation). Each worker's client is pinned to one member (round robin over
// the endpoints): the STM's later reads are serializable reads at the revision its first read saw,
// which a lagging member would answer with "future revision" if the client balanced across members.
func caseSTM(t *T) {
	const accounts, workers, transfers, start = 4, 4, 8, 100
	acct := func(i int) string { return t.key(fmt.Sprintf("acct/%d", i)) }
	for i := 0; i < accounts; i++ {
		t.put(acct(i), strconv.Itoa(start))
	}
	var applies atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		cli := t.memberClient(t.cfg.endpoints[w%len(t.cfg.endpoints)])
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w) + 1))
			iso := concurrency.Serializable
			if w%2 == 1 {
				iso = concurrency.SerializableSnapshot
			}
			for i := 0; i < transfers; i++ {
				from := rng.Intn(accounts)
				to := (from + 1 + rng.Intn(accounts-1)) % accounts
				amount := 1 + rng.Intn(20)
				_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
					applies.Add(1)
					a, _ := strconv.Atoi(s.Get(acct(from)))
					b, _ := strconv.Atoi(s.Get(acct(to)))
					if a < amount {
						return nil
					}
					s.Put(acct(from), strconv.Itoa(a-amount))
					s.Put(acct(to), strconv.Itoa(b+amount))
					return nil
				}, concurrency.WithIsolation(iso), concurrency.WithAbortContext(t.ctx))
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.fatalf("STM: %s", errDesc(err))
	}
	r := t.get(t.key("acct/"), clientv3.WithPrefix())
	total := 0
	for _, kv := range r.Kvs {
		n, err := strconv.Atoi(string(kv.Value))
		t.check(err, "account value")
		t.expect(n >= 0, "negative balance %s", kvDesc(kv))
		total += n
	}
	t.expect(len(r.Kvs) == accounts && total == accounts*start, "accounts %s total %d, want %d", kvsDesc(r.Kvs), total, accounts*start)
	t.notef("%d transfers, %d STM applies (retries %d)", workers*transfers, applies.Load(), int(applies.Load())-workers*transfers)
}
