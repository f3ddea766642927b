package main

import (
	"io"
	"strings"

	"github.com/coreos/go-semver/semver"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Maintenance.Status on every endpoint: the version (etcd 3.4.x for Debian's etcd; berth emulates
// ≥ 3.5.13 because kube-apiserver gates consistent reads on it), leader, sizes, raft indexes.
func caseStatus(t *T) {
	var leader uint64
	for _, ep := range t.cfg.endpoints {
		st, err := t.cli.Status(t.ctx, ep)
		t.check(err, "Status "+ep)
		v, err := semver.NewVersion(st.Version)
		t.check(err, "parse Status.version "+st.Version)
		switch t.cfg.flavor {
		case "etcd":
			t.expect(v.Major == 3 && v.Minor == 4, "etcd version %s, want 3.4.x", v)
		default:
			t.expect(v.Major == 3 && !v.LessThan(*semver.New("3.5.13")), "version %s, want ≥ 3.5.13", v)
			t.expect(st.RaftAppliedIndex > 0 && st.DbSizeInUse > 0, "%s: raftAppliedIndex=%d dbSizeInUse=%d (3.5 fields)", ep, st.RaftAppliedIndex, st.DbSizeInUse)
		}
		t.expect(st.Header != nil && st.Header.MemberId != 0 && st.Header.ClusterId != 0, "%s: header %v", ep, st.Header)
		t.expect(st.Leader != 0 && st.DbSize > 0 && st.RaftIndex > 0 && st.RaftTerm > 0 && !st.IsLearner,
			"%s: leader=%x dbSize=%d raftIndex=%d raftTerm=%d isLearner=%v", ep, st.Leader, st.DbSize, st.RaftIndex, st.RaftTerm, st.IsLearner)
		t.expect(len(st.Errors) == 0, "%s: errors %v", ep, st.Errors)
		if leader == 0 {
			leader = st.Leader
		}
		t.expect(st.Leader == leader, "%s reports leader %x, another endpoint %x", ep, st.Leader, leader)
		if len(t.cfg.endpoints) == 1 {
			t.expect(st.Leader == st.Header.MemberId, "single member: leader %x != member %x", st.Leader, st.Header.MemberId)
		}
		t.notef("%s version %s", ep, st.Version)
	}
}

// Cluster.MemberList: every member with name, peer and client URLs; each endpoint is advertised.
func caseMemberList(t *T) {
	ml, err := t.cli.MemberList(t.ctx)
	t.check(err, "MemberList")
	t.expect(len(ml.Members) == t.cfg.members, "%d members, want %d: %v", len(ml.Members), t.cfg.members, ml.Members)
	t.expect(ml.Header.ClusterId != 0, "cluster id 0")
	ids := map[uint64]bool{}
	var clientURLs []string
	for _, m := range ml.Members {
		t.expect(m.ID != 0 && !ids[m.ID] && m.Name != "" && len(m.PeerURLs) > 0 && len(m.ClientURLs) > 0 && !m.IsLearner,
			"member %v", m)
		ids[m.ID] = true
		clientURLs = append(clientURLs, m.ClientURLs...)
	}
	t.expect(ids[ml.Header.MemberId], "responding member %x not in the list", ml.Header.MemberId)
	for _, ep := range t.cfg.endpoints {
		found := false
		for _, u := range clientURLs {
			found = found || strings.TrimPrefix(u, "http://") == ep
		}
		t.expect(found, "endpoint %s not among the advertised client URLs %v", ep, clientURLs)
	}
}

// Maintenance.HashKV: stable at one revision, equal on every member.
func caseHashKV(t *T) {
	rev := t.put(t.key("k"), "v").Header.Revision
	var hash uint32
	for i, ep := range t.cfg.endpoints {
		// A linearizable read through the member first: it has then applied the write at rev
		// (HashKV at a revision a lagging member has not reached is a future-revision error).
		_, err := t.memberClient(ep).Get(t.ctx, t.key("k"))
		t.check(err, "linearizable Get via "+ep)
		h, err := t.cli.HashKV(t.ctx, ep, rev)
		t.check(err, "HashKV "+ep)
		t.expect(h.Header != nil && h.Header.Revision >= rev, "%s: header %v", ep, h.Header)
		h2, err := t.cli.HashKV(t.ctx, ep, rev)
		t.check(err, "HashKV again "+ep)
		t.expect(h2.Hash == h.Hash, "%s: hash at %d changed %x → %x", ep, rev, h.Hash, h2.Hash)
		if i == 0 {
			hash = h.Hash
		}
		t.expect(h.Hash == hash, "%s: hash %x differs from the first endpoint's %x at rev %d", ep, h.Hash, hash, rev)
		t.notef("%s hash %x compact_revision %d", ep, h.Hash, h.CompactRevision)
	}
	h, err := t.cli.HashKV(t.ctx, t.cfg.endpoints[0], 0)
	t.check(err, "HashKV at 0 (latest)")
	t.expect(h.Header.Revision >= rev, "HashKV(0) header %v", h.Header)
}

// Alarm list (none), Defragment, Hash and a Snapshot stream on every member.
func caseMaintenanceMisc(t *T) {
	al, err := t.cli.AlarmList(t.ctx)
	t.check(err, "AlarmList")
	t.expect(len(al.Alarms) == 0, "alarms: %v", al.Alarms)
	for _, ep := range t.cfg.endpoints {
		_, err := t.cli.Defragment(t.ctx, ep)
		t.check(err, "Defragment "+ep)
		c := t.memberClient(ep)
		h, err := pb.NewMaintenanceClient(c.ActiveConnection()).Hash(t.ctx, &pb.HashRequest{})
		t.check(err, "Hash "+ep)
		t.expect(h.Header != nil && h.Header.Revision > 0, "Hash %s: header %v", ep, h.Header)
		rc, err := c.Snapshot(t.ctx)
		t.check(err, "Snapshot "+ep)
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		t.check(err, "reading the snapshot stream of "+ep)
		t.expect(n > 32, "snapshot of %s: %d bytes", ep, n)
		t.notef("%s snapshot %d bytes", ep, n)
	}
}

// MoveLeader: refused by a follower (ErrNotLeader) and for an unknown transferee
// (ErrBadLeaderTransferee); with several members the leader hands over to a follower.
func caseMoveLeader(t *T) {
	var leaderEP, followerEP string
	var leaderID, followerID uint64
	for _, ep := range t.cfg.endpoints {
		st, err := t.cli.Status(t.ctx, ep)
		t.check(err, "Status "+ep)
		if st.Leader == st.Header.MemberId {
			leaderEP, leaderID = ep, st.Header.MemberId
		} else {
			followerEP, followerID = ep, st.Header.MemberId
		}
	}
	t.expect(leaderEP != "", "no endpoint is the leader")
	lc := t.memberClient(leaderEP)
	_, err := lc.MoveLeader(t.ctx, 0x1234)
	t.expectErr(err, rpctypes.ErrBadLeaderTransferee, "MoveLeader to an unknown member")
	if followerEP == "" {
		return
	}
	_, err = t.memberClient(followerEP).MoveLeader(t.ctx, leaderID)
	t.expectErr(err, rpctypes.ErrNotLeader, "MoveLeader sent to a follower")
	_, err = lc.MoveLeader(t.ctx, followerID)
	t.check(err, "MoveLeader to a follower")
	st, err := t.cli.Status(t.ctx, followerEP)
	t.check(err, "Status")
	t.expect(st.Leader == followerID, "leader after MoveLeader: %x, want %x", st.Leader, followerID)
	t.put(t.key("after"), "v")
	t.notef("leader %x → %x", leaderID, followerID)
}
