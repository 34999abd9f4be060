// Package xfrtest runs real DNS servers from Debian's packages (Knot, NSD, BIND) on loopback
// as zone-transfer peers of lbdns in tests: their configurations, a free port, and a peer
// process that is stopped when the test ends. pkg/xfr's interop tests and cmd/lbdns's
// end-to-end tests share it.
package xfrtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// KeyName is the TSIG key every configuration uses (hmac-sha256).
const KeyName = "xfr-key"

// Conf describes a peer's configuration.
type Conf struct {
	Port   int    // the peer's port on 127.0.0.1
	Dir    string // its working directory (zone files, state)
	Zone   string // the zone, without the trailing dot
	Secret string // base64 secret of KeyName
	LBDNS  int    // lbdns's port on 127.0.0.1: the primary of a secondary, Knot's NOTIFY target
}

func (c Conf) fill(tmpl string) string {
	return strings.NewReplacer("PORT", strconv.Itoa(c.Port), "DIR", c.Dir, "SECRET", c.Secret,
		"LBDNS", strconv.Itoa(c.LBDNS), "ZONE", c.Zone).Replace(tmpl)
}

// Knot is a knot.conf making Knot the primary of Zone (from Dir/Zone.zone; a zone-file edit
// plus `knotc -c FILE zone-reload` is journalled for IXFR), transfers with the key to
// 127.0.0.0/8, NOTIFY to lbdns; its control socket is Dir/knot.sock.
func (c Conf) Knot() string {
	return c.fill(`server:
    listen: 127.0.0.1@PORT
    rundir: "DIR"
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
database:
    storage: "DIR"
control:
    listen: "DIR/knot.sock"
log:
  - target: stderr
    any: info
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: SECRET
remote:
  - id: lbdns
    address: 127.0.0.1@LBDNS
    key: xfr-key
acl:
  - id: transfer
    address: 127.0.0.0/8
    key: xfr-key
    action: transfer
zone:
  - domain: ZONE
    file: "DIR/ZONE.zone"
    zonefile-load: difference
    journal-content: changes
    zonefile-sync: -1
    semantic-checks: off
    notify: lbdns
    acl: transfer
`)
}

// NSD is an nsd.conf making NSD a secondary of lbdns for Zone with the key (zone file and log
// in Dir, response rate limiting off).
func (c Conf) NSD() string {
	return c.fill(`server:
    ip-address: 127.0.0.1@PORT
    server-count: 1
    rrl-ratelimit: 0
    username: ""
    chroot: ""
    zonesdir: "DIR"
    pidfile: "DIR/nsd.pid"
    database: ""
    xfrdfile: "DIR/xfrd.state"
    zonelistfile: "DIR/zone.list"
    logfile: "DIR/nsd.log"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: "xfr-key"
    algorithm: hmac-sha256
    secret: "SECRET"
zone:
    name: ZONE
    zonefile: "ZONE.zone"
    request-xfr: 127.0.0.1@LBDNS xfr-key
    allow-notify: 127.0.0.1 xfr-key
`)
}

// BIND is a named.conf making BIND a secondary of lbdns for Zone with the key (signed SOA
// queries, transfers and NOTIFY).
func (c Conf) BIND() string {
	return c.fill(`options {
    directory "DIR";
    pid-file "DIR/named.pid";
    listen-on port PORT { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
};
controls { };
key "xfr-key" {
    algorithm hmac-sha256;
    secret "SECRET";
};
server 127.0.0.1 { keys { xfr-key; }; };
zone "ZONE" {
    type secondary;
    file "ZONE.db";
    primaries port LBDNS { 127.0.0.1 key xfr-key; };
    allow-notify { key xfr-key; };
};
`)
}

// FreePort returns a port free on 127.0.0.1 for both UDP and TCP.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

// Peer is a running peer server.
type Peer struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
}

// syncBuf is a bytes.Buffer safe for the process's output and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start runs name with args in the foreground until the test ends (or Stop), and waits until
// it answers an SOA query for origin on addr: with the SOA when wantSOA (a primary, or a
// secondary that kept a copy), with any reply otherwise (a secondary before its first
// transfer). On failure the test's log gets the peer's output and logFile, if set.
func Start(t testing.TB, addr, origin string, wantSOA bool, logFile, name string, args ...string) *Peer {
	t.Helper()
	p := &Peer{name: name, out: &syncBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
			if logFile != "" {
				b, _ := os.ReadFile(logFile)
				t.Logf("%s:\n%s", logFile, b)
			}
		}
	})
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(origin), dns.TypeSOA)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", name, p.out.String())
		default:
		}
		r, _, err := c.Exchange(q, addr)
		if err == nil && (!wantSOA || r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0) {
			return p
		}
	}
	t.Fatalf("%s does not answer on %s:\n%s", name, addr, p.out.String())
	return nil
}

// Output is what the peer printed so far.
func (p *Peer) Output() string { return p.out.String() }

// Stop interrupts the peer and waits for it (killing it after 5 s).
func (p *Peer) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
