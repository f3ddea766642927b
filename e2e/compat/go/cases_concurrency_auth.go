package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// The server-side Lock and Election services (v3lockpb, v3electionpb) under auth, called through
// the Go client's own connection (its per-RPC token credentials) with hand-encoded messages: the
// published client modules do not ship those services' stubs. etcd runs the services on an
// in-process client that carries the caller's token, so every KV call they make is checked as the
// caller: a denied call is gRPC Unknown "etcdserver: permission denied", a denied Observe ends with
// no message and no error.

// rawCodec passes message bytes through unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// pbBytes encodes length-delimited fields (field number → bytes), in the order given.
func pbBytes(fields ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(fields); i += 2 {
		b = protowire.AppendTag(b, protowire.Number(fields[i].(int)), protowire.BytesType)
		b = protowire.AppendBytes(b, fields[i+1].([]byte))
	}
	return b
}

// pbField returns the first length-delimited field `num` of a message (nil when absent).
func pbField(b []byte, num protowire.Number) []byte {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil
			}
			return v
		}
		m := protowire.ConsumeFieldValue(n, typ, b)
		if m < 0 {
			return nil
		}
		b = b[m:]
	}
	return nil
}

func callRaw(ctx context.Context, cli *clientv3.Client, method string, req []byte) ([]byte, error) {
	var resp []byte
	err := cli.ActiveConnection().Invoke(ctx, method, &req, &resp, grpc.ForceCodec(rawCodec{}))
	return resp, err
}

// observeFirst opens Election.Observe and returns the first response, or io.EOF when the stream
// ends cleanly without one, or the stream's error.
func observeFirst(ctx context.Context, cli *clientv3.Client, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := cli.ActiveConnection().NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/v3electionpb.Election/Observe", grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return nil, err
	}
	req := pbBytes(1, []byte(name))
	if err := s.SendMsg(&req); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var resp []byte
	if err := s.RecvMsg(&resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (t *T) expectDenied(err error, msg, what string) {
	st, _ := status.FromError(err)
	if err == nil || st.Code() != codes.Unknown || st.Message() != msg {
		t.fatalf("%s: got %s, want code Unknown %q", what, errDesc(err), msg)
	}
}

func caseConcurrencyAuth(t *T) {
	outside := "/compat-outside-recipes/"
	addAuthUsers(t, "compat-locker", "lock/")
	root, login, cleanup := enableAuth(t, "compat-locker")
	defer cleanup()
	alice, err := login("alice", "alicepw")
	t.check(err, "alice client")
	defer alice.Close()
	const denied = "etcdserver: permission denied"

	// Lock: name 1, Unlock: key 1; LockResponse key 2.
	l, err := callRaw(t.ctx, alice, "/v3lockpb.Lock/Lock", pbBytes(1, []byte(t.key("lock/a"))))
	t.check(err, "alice locks inside her prefix")
	key := pbField(l, 2)
	t.expect(strings.HasPrefix(string(key), t.key("lock/a/")), "lock key %q", key)
	t.check(errOnly(callRaw(t.ctx, alice, "/v3lockpb.Lock/Unlock", pbBytes(1, key))), "alice unlocks")
	_, err = callRaw(t.ctx, alice, "/v3lockpb.Lock/Lock", pbBytes(1, []byte(outside+"a")))
	t.expectDenied(err, denied, "alice locks outside")
	_, err = callRaw(t.ctx, t.cli, "/v3lockpb.Lock/Lock", pbBytes(1, []byte(t.key("lock/a"))))
	t.expectDenied(err, "etcdserver: user name is empty", "lock without credentials")

	// Campaign: name 1, value 3; Leader/Observe: name 1; LeaderResponse kv 2, KeyValue value 5.
	t.check(errOnly(callRaw(t.ctx, alice, "/v3electionpb.Election/Campaign", pbBytes(1, []byte(t.key("lock/e")), 3, []byte("by alice")))), "alice campaigns inside")
	lr, err := callRaw(t.ctx, alice, "/v3electionpb.Election/Leader", pbBytes(1, []byte(t.key("lock/e"))))
	t.check(err, "alice asks the leader inside")
	t.expect(string(pbField(pbField(lr, 2), 5)) == "by alice", "leader value %q", pbField(pbField(lr, 2), 5))
	or, err := observeFirst(t.ctx, alice, t.key("lock/e"))
	t.check(err, "alice observes inside")
	t.expect(string(pbField(pbField(or, 2), 5)) == "by alice", "observed value %q", pbField(pbField(or, 2), 5))

	_, err = callRaw(t.ctx, alice, "/v3electionpb.Election/Leader", pbBytes(1, []byte(outside+"e")))
	t.expectDenied(err, denied, "alice asks the leader outside (none yet)")
	_, err = callRaw(t.ctx, alice, "/v3electionpb.Election/Campaign", pbBytes(1, []byte(outside+"e"), 3, []byte("x")))
	t.expectDenied(err, denied, "alice campaigns outside")
	t.check(errOnly(callRaw(t.ctx, root, "/v3electionpb.Election/Campaign", pbBytes(1, []byte(outside+"e"), 3, []byte("by root")))), "root campaigns outside")
	_, err = callRaw(t.ctx, alice, "/v3electionpb.Election/Leader", pbBytes(1, []byte(outside+"e")))
	t.expectDenied(err, denied, "alice asks the leader outside")
	_, err = observeFirst(t.ctx, alice, outside+"e")
	t.expect(errors.Is(err, io.EOF), "alice observes outside: got %s, want the stream to end without a message", errDesc(err))
	rr, err := callRaw(t.ctx, root, "/v3electionpb.Election/Leader", pbBytes(1, []byte(outside+"e")))
	t.check(err, "root asks the leader outside")
	t.expect(string(pbField(pbField(rr, 2), 5)) == "by root", "leader value %q", pbField(pbField(rr, 2), 5))
}
