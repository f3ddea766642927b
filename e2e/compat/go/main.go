// Command compat runs a table of named cases with the official etcd Go client
// (go.etcd.io/etcd/client/v3) against the given endpoints and prints one JSON line per case:
//
//	{"name": "...", "ok": true|false, "detail": "...", "ms": 12}
//
// It exits 0 only if every case passed. The same binary is run against a real etcd and against
// berth (e2e/compat/go-client.test.ts); a case that fails against etcd is itself wrong.
//
// Cases run one after the other on one client. Each case works under its own key prefix
// (/compat/<case name>/), so cases do not see each other's keys; the first case checks that the
// store is fresh (revision 1), so it must run before anything writes.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

type config struct {
	endpoints   []string
	flavor      string // "etcd" or "berth": only the Status version check depends on it
	members     int    // expected member count (MemberList)
	caseTimeout time.Duration
	// the servers' --experimental-watch-progress-notify-interval
	progressInterval time.Duration
}

// failure is what T.fatalf panics with; the runner recovers it into a failed result.
type failure string

// T is the handle a case gets: its context (bounded by the case timeout), the shared client,
// its key prefix and notes that become the detail of a passing case.
type T struct {
	ctx   context.Context
	cli   *clientv3.Client
	cfg   *config
	pfx   string
	notes []string
}

func (t *T) fatalf(format string, a ...any) { panic(failure(fmt.Sprintf(format, a...))) }

// check fails the case when err is not nil.
func (t *T) check(err error, what string) {
	if err != nil {
		t.fatalf("%s: unexpected error: %v", what, err)
	}
}

// expect fails the case when cond is false.
func (t *T) expect(cond bool, format string, a ...any) {
	if !cond {
		t.fatalf(format, a...)
	}
}

func (t *T) notef(format string, a ...any) { t.notes = append(t.notes, fmt.Sprintf(format, a...)) }

// key returns a key under this case's prefix.
func (t *T) key(s string) string { return t.pfx + s }

type testCase struct {
	name string
	fn   func(t *T)
}

type result struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	MS     int64  `json:"ms"`
}

func runCase(cfg *config, cli *clientv3.Client, c testCase) (res result) {
	res.Name = c.name
	start := time.Now()
	defer func() { res.MS = time.Since(start).Milliseconds() }()
	timeout := cfg.caseTimeout
	if d := caseTimeouts[c.name]; d > timeout {
		timeout = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	t := &T{ctx: ctx, cli: cli, cfg: cfg, pfx: "/compat/" + c.name + "/"}
	done := make(chan result, 1)
	go func() {
		defer func() {
			r := recover()
			switch v := r.(type) {
			case nil:
				done <- result{OK: true, Detail: strings.Join(t.notes, "; ")}
			case failure:
				d := string(v)
				if ctx.Err() != nil {
					d += fmt.Sprintf(" (case context: %v after %s)", ctx.Err(), timeout)
				}
				done <- result{OK: false, Detail: d}
			default:
				done <- result{OK: false, Detail: fmt.Sprintf("panic: %v\n%s", v, debug.Stack())}
			}
		}()
		c.fn(t)
	}()
	// The case's calls are all bounded by ctx; this is a last resort for a call that ignores it.
	select {
	case r := <-done:
		res.OK, res.Detail = r.OK, r.Detail
	case <-time.After(timeout + 10*time.Second):
		res.OK, res.Detail = false, fmt.Sprintf("case did not return within %s", timeout+10*time.Second)
	}
	return res
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client endpoints")
	flavor := flag.String("flavor", "berth", "server flavor: etcd or berth (Status version expectation)")
	members := flag.Int("members", 0, "expected member count (default: number of endpoints)")
	caseTimeout := flag.Duration("case-timeout", 30*time.Second, "bound on each case")
	progress := flag.Duration("progress-notify-interval", time.Second, "the servers' --experimental-watch-progress-notify-interval (start them with it)")
	run := flag.String("run", "", "only run cases whose name matches this regexp")
	list := flag.Bool("list", false, "print the case names and exit")
	cacert := flag.String("cacert", "", "TLS: verify the servers with this CA bundle (PEM)")
	certFile := flag.String("cert", "", "TLS: client certificate (PEM)")
	keyFile := flag.String("key", "", "TLS: client key (PEM)")
	insecureSkipVerify := flag.Bool("insecure-skip-tls-verify", false, "TLS: do not verify the servers")
	flag.Parse()

	if *list {
		for _, c := range cases {
			fmt.Println(c.name)
		}
		return
	}
	if *flavor != "etcd" && *flavor != "berth" {
		fmt.Fprintf(os.Stderr, "--flavor must be etcd or berth, got %q\n", *flavor)
		os.Exit(2)
	}
	cfg := &config{endpoints: strings.Split(*endpoints, ","), flavor: *flavor, members: *members, caseTimeout: *caseTimeout, progressInterval: *progress}
	if cfg.members == 0 {
		cfg.members = len(cfg.endpoints)
	}
	var filter *regexp.Regexp
	if *run != "" {
		filter = regexp.MustCompile(*run)
	}

	tlsCfg, err := tlsConfig(*cacert, *certFile, *keyFile, *insecureSkipVerify)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tls: %v\n", err)
		os.Exit(2)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		TLS:         tlsCfg,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		os.Exit(2)
	}
	defer cli.Close()

	enc := json.NewEncoder(os.Stdout)
	failed := 0
	for _, c := range cases {
		if filter != nil && !filter.MatchString(c.name) {
			continue
		}
		r := runCase(cfg, cli, c)
		if !r.OK {
			failed++
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(os.Stderr, "write: %v\n", err)
			os.Exit(2)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// tlsConfig builds the client TLS configuration from the flags; nil (plain text) when none is set.
func tlsConfig(cacert, certFile, keyFile string, insecureSkipVerify bool) (*tls.Config, error) {
	if cacert == "" && certFile == "" && keyFile == "" && !insecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: insecureSkipVerify, MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", cacert)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// errDesc renders an error with its Go type, for details of unexpected errors.
func errDesc(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%v (%T)", err, err)
}

// expectErr fails the case unless err matches target with errors.Is.
func (t *T) expectErr(err error, target error, what string) {
	if err == nil {
		t.fatalf("%s: succeeded, want error %q", what, target)
	}
	if !errors.Is(err, target) {
		t.fatalf("%s: got error %s, want errors.Is(err, %q)", what, errDesc(err), target)
	}
}
