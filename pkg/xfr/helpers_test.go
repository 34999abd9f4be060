package xfr

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/zone"
)

const (
	testKeyName  = "xfr-key"
	testSecret   = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=" // base64
	otherSecret  = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItMTI=" // same name, other secret
	testZoneName = "example.test"
	testZoneFQDN = "example.test."
	testZoneV1   = `$ORIGIN example.test.
$TTL 300
@    IN SOA ns1 hostmaster 10 1 1 2 60
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.10
mail IN A   192.0.2.20
`
)

func testTSIG() *config.TSIG {
	return &config.TSIG{Name: testKeyName, Algorithm: "hmac-sha256", Secret: testSecret}
}

func mustZone(t testing.TB, text string) *zone.Zone {
	t.Helper()
	z, err := zone.Parse(testZoneFQDN, strings.NewReader(text), "")
	if err != nil {
		t.Fatalf("zone: %v", err)
	}
	return z
}

func testLog(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger()
}

// testServer is a small DNS server on 127.0.0.1 (UDP and TCP on one port) that hands NOTIFY
// and AXFR/IXFR to a Manager's Handle, as pkg/server does (raw request bytes through
// RawRequester when raw is set), and answers SOA queries from soa.
type testServer struct {
	addr    netip.AddrPort
	handle  func(w dns.ResponseWriter, req *dns.Msg) bool
	soa     func(name string) *dns.SOA
	raw     bool
	mu      sync.Mutex
	seen    []*dns.Msg // requests handed to handle
	queries []*dns.Msg // other queries (SOA)
	xfrSeen chan uint16
	pc      net.PacketConn
	ln      net.Listener
	wg      sync.WaitGroup
}

func startServer(t testing.TB, handle func(w dns.ResponseWriter, req *dns.Msg) bool, soa func(string) *dns.SOA, raw bool) *testServer {
	t.Helper()
	s := &testServer{handle: handle, soa: soa, raw: raw, xfrSeen: make(chan uint16, 64)}
	var err error
	for range 20 {
		s.pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.ln, err = net.Listen("tcp", s.pc.LocalAddr().String())
		if err == nil {
			break
		}
		s.pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s.addr = netip.MustParseAddrPort(s.pc.LocalAddr().String())
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) close() {
	s.pc.Close()
	s.ln.Close()
	s.wg.Wait()
}

func (s *testServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, peer, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		w := &testWriter{pc: s.pc, peer: peer, raw: append([]byte(nil), buf[:n]...)}
		s.serve(w)
	}
}

func (s *testServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			for {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				b := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, b); err != nil {
					return
				}
				w := &testWriter{conn: c, raw: b}
				s.serve(w)
				if w.closed {
					return
				}
			}
		}()
	}
}

func (s *testServer) serve(w *testWriter) {
	req := new(dns.Msg)
	if err := req.Unpack(w.raw); err != nil || len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	// As pkg/server should: NOTIFY, transfers and TSIG-signed queries go to the hook.
	if req.Opcode == dns.OpcodeNotify || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR || req.IsTsig() != nil {
		s.mu.Lock()
		s.seen = append(s.seen, req)
		s.mu.Unlock()
		var rw dns.ResponseWriter = w
		if s.raw {
			rw = &rawWriter{w}
		}
		if s.handle != nil && s.handle(rw, req) {
			if req.Opcode == dns.OpcodeQuery {
				select {
				case s.xfrSeen <- q.Qtype:
				default:
				}
			}
			return
		}
		rc := dns.RcodeRefused
		if req.Opcode == dns.OpcodeNotify {
			rc = dns.RcodeNotImplemented
		}
		w.WriteMsg(new(dns.Msg).SetRcode(req, rc))
		return
	}
	s.mu.Lock()
	s.queries = append(s.queries, req)
	s.mu.Unlock()
	r := new(dns.Msg)
	r.SetReply(req)
	var soa *dns.SOA
	if s.soa != nil && q.Qtype == dns.TypeSOA {
		soa = s.soa(q.Name)
	}
	if soa == nil {
		r.Rcode = dns.RcodeRefused
	} else {
		r.Authoritative = true
		r.Answer = []dns.RR{soa}
	}
	w.WriteMsg(r)
}

// testWriter mimics pkg/server's respWriter: Write sends one framed message over TCP or one
// datagram, TsigStatus says the server did not verify.
type testWriter struct {
	conn   net.Conn
	pc     net.PacketConn
	peer   net.Addr
	raw    []byte
	closed bool
}

type rawWriter struct{ *testWriter }

func (r *rawWriter) RawRequest() []byte { return r.raw }

func (w *testWriter) LocalAddr() net.Addr {
	if w.conn != nil {
		return w.conn.LocalAddr()
	}
	return w.pc.LocalAddr()
}
func (w *testWriter) RemoteAddr() net.Addr {
	if w.conn != nil {
		return w.conn.RemoteAddr()
	}
	return w.peer
}
func (w *testWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *testWriter) Write(b []byte) (int, error) {
	if w.conn == nil {
		return w.pc.WriteTo(b, w.peer)
	}
	_, err := w.conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	return len(b), err
}
func (w *testWriter) Close() error { w.closed = true; return nil }
func (w *testWriter) TsigStatus() error {
	return errors.New("not verified")
}
func (w *testWriter) TsigTimersOnly(bool) {}
func (w *testWriter) Hijack()             {}

// outSOA answers SOA queries from what m publishes.
func outSOA(m *Manager) func(string) *dns.SOA {
	return func(name string) *dns.SOA {
		s := m.zone(name)
		if s == nil {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.out == nil {
			return nil
		}
		return s.out[0].(*dns.SOA)
	}
}

// fakeClock is a manual clock: After channels fire when Advance passes their time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	blocked chan struct{} // a goroutine started waiting
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, blocked: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	select {
	case c.blocked <- struct{}{}:
	default:
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// waitBlocked waits until a goroutine waits on the clock.
func (c *fakeClock) waitBlocked(t testing.TB) {
	t.Helper()
	select {
	case <-c.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing waits on the clock")
	}
}

// secondaryEvents collects OnSecondary calls.
type secondaryEvents chan *zone.Zone

func (e secondaryEvents) on(origin string, z *zone.Zone) { e <- z }

// next waits for the next OnSecondary call.
func (e secondaryEvents) next(t testing.TB, what string) *zone.Zone {
	t.Helper()
	select {
	case z := <-e:
		return z
	case <-time.After(20 * time.Second):
		t.Fatalf("no OnSecondary call: %s", what)
		return nil
	}
}

// waitSerial waits for OnSecondary with a zone at serial.
func (e secondaryEvents) waitSerial(t testing.TB, serial uint32) *zone.Zone {
	t.Helper()
	for range 20 {
		z := e.next(t, "waiting for a zone")
		if z != nil && z.SOA().Serial == serial {
			return z
		}
	}
	t.Fatalf("serial %d never arrived", serial)
	return nil
}

func runManager(t testing.TB, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func counter(t testing.TB, m *Manager, zone, dir, typ, result string) float64 {
	t.Helper()
	var v dto.Metric
	if err := m.m.transfers.WithLabelValues(zone, dir, typ, result).Write(&v); err != nil {
		t.Fatal(err)
	}
	return v.GetCounter().GetValue()
}

// lookupA returns the A records of name in z (no load balancers).
func lookupA(z *zone.Zone, name string) []string {
	res := z.Lookup(name, dns.TypeA, nil)
	var out []string
	for _, rr := range res.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// exchangeFrom sends m over UDP from local (an address on loopback, port 0) to addr.
func exchangeFrom(t testing.TB, local string, addr netip.AddrPort, m *dns.Msg, secret map[string]string) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 3 * time.Second, TsigSecret: secret,
		Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(local)}, Timeout: 3 * time.Second}}
	r, _, err := c.Exchange(m, addr.String())
	if err != nil && r == nil {
		t.Fatalf("exchange: %v", err)
	}
	return r
}

// runStoppable runs m until the returned function is called (idempotent).
func runStoppable(m *Manager) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}
