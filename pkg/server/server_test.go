package server

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/zone"
)

func withECS(prefix string, mutate func(*dns.EDNS0_SUBNET)) func(*dns.Msg) {
	return func(m *dns.Msg) {
		p := netip.MustParsePrefix(prefix)
		e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: uint8(p.Bits()), Address: net.IP(p.Addr().AsSlice())}
		e.Family = 1
		if p.Addr().Is6() {
			e.Family = 2
		}
		if mutate != nil {
			mutate(e)
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, e)
	}
}

func ecsOf(m *dns.Msg) *dns.EDNS0_SUBNET {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

func TestReplies(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	type check func(t *testing.T, m *dns.Msg)
	rcode := func(rc int) check {
		return func(t *testing.T, m *dns.Msg) {
			if m.Rcode != rc {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[rc])
			}
		}
	}
	answers := func(n int) check {
		return func(t *testing.T, m *dns.Msg) {
			if len(m.Answer) != n {
				t.Errorf("%d answers, want %d:\n%v", len(m.Answer), n, m)
			}
		}
	}
	flags := func(aa, tc bool) check {
		return func(t *testing.T, m *dns.Msg) {
			if m.Authoritative != aa || m.Truncated != tc || m.RecursionAvailable || !m.Response {
				t.Errorf("aa=%v tc=%v ra=%v qr=%v, want aa=%v tc=%v ra=false qr=true", m.Authoritative, m.Truncated, m.RecursionAvailable, m.Response, aa, tc)
			}
		}
	}
	opt := func(want bool) check {
		return func(t *testing.T, m *dns.Msg) {
			o := m.IsEdns0()
			if (o != nil) != want {
				t.Fatalf("OPT present %v, want %v", o != nil, want)
			}
			if o != nil && (o.UDPSize() != maxUDPSize || o.Version() != 0) {
				t.Errorf("OPT size %d version %d, want %d 0", o.UDPSize(), o.Version(), maxUDPSize)
			}
		}
	}
	ecs := func(prefix string, scope uint8) check {
		return func(t *testing.T, m *dns.Msg) {
			e := ecsOf(m)
			if e == nil {
				t.Fatal("no ECS option in the reply")
			}
			p := netip.MustParsePrefix(prefix)
			got, _ := netip.AddrFromSlice(e.Address)
			if e.SourceNetmask != uint8(p.Bits()) || e.SourceScope != scope || got.Unmap() != p.Addr() {
				t.Errorf("ECS %v/%d scope %d, want %v scope %d", e.Address, e.SourceNetmask, e.SourceScope, p, scope)
			}
		}
	}
	noECS := func(t *testing.T, m *dns.Msg) {
		if ecsOf(m) != nil {
			t.Error("unexpected ECS in the reply")
		}
	}
	cases := []struct {
		name   string
		q      []byte
		tcp    bool
		checks []check
	}{
		{"positive", q("www.diff.test.", dns.TypeA, 1232, false), false, []check{rcode(0), answers(2), flags(true, false), opt(true)}},
		{"positive no EDNS", q("www.diff.test.", dns.TypeA, 0, false), false, []check{rcode(0), answers(2), opt(false)}},
		{"nxdomain", q("nope.diff.test.", dns.TypeA, 1232, false), false, []check{rcode(dns.RcodeNameError), answers(0), flags(true, false)}},
		{"refused outside", q("example.com.", dns.TypeA, 1232, false), false, []check{rcode(dns.RcodeRefused), flags(false, false), opt(true)}},
		{"CH refused", q("www.diff.test.", dns.TypeTXT, 0, false, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), false, []check{rcode(dns.RcodeRefused)}},
		{"BADVERS", q("www.diff.test.", dns.TypeA, 1232, false, func(m *dns.Msg) { m.IsEdns0().SetVersion(1) }), false, []check{rcode(dns.RcodeBadVers), answers(0), opt(true), flags(false, false)}},
		{"NOTIFY without xfr", q("diff.test.", dns.TypeSOA, 0, false, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), false, []check{rcode(dns.RcodeNotImplemented)}},
		{"AXFR without xfr", q("diff.test.", dns.TypeAXFR, 0, false), true, []check{rcode(dns.RcodeRefused)}},
		{"IXFR without xfr", q("diff.test.", dns.TypeIXFR, 0, false), false, []check{rcode(dns.RcodeRefused)}},
		{"UPDATE", q("diff.test.", dns.TypeSOA, 0, false, func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }), false, []check{rcode(dns.RcodeNotImplemented)}},
		{"TC udp 512", q("big.diff.test.", dns.TypeTXT, 0, false), false, []check{rcode(0), answers(0), flags(true, true)}},
		{"TC udp 1232", q("big.diff.test.", dns.TypeTXT, 4096, false), false, []check{rcode(0), answers(0), flags(true, true), opt(true)}},
		{"big over tcp", q("big.diff.test.", dns.TypeTXT, 0, false), true, []check{rcode(0), answers(14), flags(true, false)}},
		{"ECS v4 echoed scope 0", q("www.diff.test.", dns.TypeA, 1232, false, withECS("192.0.2.0/24", nil)), false, []check{rcode(0), answers(2), ecs("192.0.2.0/24", 0)}},
		{"ECS v4 cached echoed", q("www.diff.test.", dns.TypeA, 1232, false, withECS("198.51.100.0/24", nil)), false, []check{rcode(0), answers(2), ecs("198.51.100.0/24", 0)}},
		{"ECS v6 echoed", q("nope.diff.test.", dns.TypeA, 1232, false, withECS("2001:db8:1200::/40", nil)), false, []check{rcode(3), ecs("2001:db8:1200::/40", 0)}},
		{"ECS /0", q("www.diff.test.", dns.TypeA, 1232, false, withECS("0.0.0.0/0", nil)), true, []check{rcode(0), ecs("0.0.0.0/0", 0)}},
		{"malformed ECS: FORMERR without OPT (as Knot for any malformed OPT)", ecsRaw(3, 24, 0, []byte{192, 0, 2}), false, []check{rcode(dns.RcodeFormatError), noECS, opt(false)}},
		{"ECS on REFUSED", q("example.com.", dns.TypeA, 1232, false, withECS("192.0.2.0/24", nil)), false, []check{rcode(dns.RcodeRefused), ecs("192.0.2.0/24", 0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.tcp {
				b = exchangeTCPRaw(t, ts.tcp, c.q)
			} else {
				b = exchangeRaw(t, ts.udp, c.q)
			}
			m := mustUnpack(t, b)
			if m.Id != 4242 && len(c.q) >= 2 {
				t.Errorf("id %d", m.Id)
			}
			for _, ch := range c.checks {
				ch(t, m)
			}
		})
	}
}

// ecsRaw builds a query with a hand-made ECS option (miekg refuses to pack some malformed ones).
func ecsRaw(family uint16, source, scope uint8, addr []byte) []byte {
	m := newQuery("www.diff.test.", dns.TypeA, 1232, false)
	b, _ := m.Pack()
	opt := []byte{0, ednsOptionECS, 0, byte(4 + len(addr)), byte(family >> 8), byte(family), source, scope}
	opt = append(opt, addr...)
	// The packed OPT is the last 11 bytes; set its RDLENGTH and append the option.
	binary.BigEndian.PutUint16(b[len(b)-2:], uint16(len(opt)))
	return append(b, opt...)
}

func TestMalformedECS(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	cases := []struct {
		name string
		q    []byte
		ok   bool
	}{
		{"valid /24", ecsRaw(1, 24, 0, []byte{192, 0, 2}), true},
		{"valid /0", ecsRaw(1, 0, 0, nil), true},
		{"valid v6 /56", ecsRaw(2, 56, 0, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0x12}), true},
		{"valid /20", ecsRaw(1, 20, 0, []byte{10, 1, 0x10}), true},
		{"family 0", ecsRaw(0, 24, 0, []byte{192, 0, 2}), false},
		{"family 3", ecsRaw(3, 24, 0, []byte{192, 0, 2}), false},
		{"v4 source 33", ecsRaw(1, 33, 0, []byte{192, 0, 2, 1, 0}), false},
		{"v6 source 129", ecsRaw(2, 129, 0, make([]byte, 17)), false},
		{"scope not 0", ecsRaw(1, 24, 16, []byte{192, 0, 2}), false},
		{"too many address bytes", ecsRaw(1, 24, 0, []byte{192, 0, 2, 0}), false},
		{"too few address bytes", ecsRaw(1, 24, 0, []byte{192, 0}), false},
		{"bits beyond prefix", ecsRaw(1, 20, 0, []byte{10, 1, 0x11}), false},
		{"option too short", ecsRaw(1, 0, 0, nil)[:len(ecsRaw(1, 0, 0, nil))-1], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := exchangeRaw(t, ts.udp, c.q)
			if b == nil {
				t.Fatal("no reply")
			}
			m := new(dns.Msg)
			if err := m.Unpack(b); err != nil {
				t.Fatalf("unpack: %v", err)
			}
			if got := m.Rcode == dns.RcodeSuccess; got != c.ok {
				t.Errorf("rcode %s, want ok=%v", dns.RcodeToString[m.Rcode], c.ok)
			}
			if c.ok && ecsOf(m) == nil {
				t.Error("ECS not echoed")
			}
		})
	}
}

func TestDropped(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	resp := q("www.diff.test.", dns.TypeA, 0, false)
	resp[2] |= 0x80 // QR
	for name, b := range map[string][]byte{"short": {1, 2, 3, 4, 5}, "empty header-1": make([]byte, 11), "response": resp} {
		c, err := net.Dial("udp", ts.udp)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		c.Write(b)
		if n, err := c.Read(make([]byte, 512)); err == nil {
			t.Errorf("%s: got a %d-byte reply, want none", name, n)
		}
		c.Close()
	}
	// The server still answers afterwards.
	mustUnpack(t, exchangeRaw(t, ts.udp, q("www.diff.test.", dns.TypeA, 0, false)))
}

func TestCasePreservedFromCache(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	for i, name := range []string{"www.diff.test.", "WWW.diff.test.", "wWw.DiFf.tEsT.", "www.diff.test."} {
		m := mustUnpack(t, exchangeRaw(t, ts.udp, q(name, dns.TypeA, 1232, false)))
		if m.Question[0].Name != name || len(m.Answer) != 2 {
			t.Fatalf("query %d: question %q with %d answers, want %q", i, m.Question[0].Name, len(m.Answer), name)
		}
		for _, rr := range m.Answer {
			if !strings.EqualFold(rr.Header().Name, name) {
				t.Errorf("owner %q", rr.Header().Name)
			}
		}
	}
}

func TestTCPPipelining(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	names := []string{"www.diff.test.", "mail.diff.test.", "nope.diff.test.", "big.diff.test.", "example.org."}
	var all []byte
	for i, n := range names {
		m := newQuery(n, dns.TypeA, 0, false)
		if n == "big.diff.test." {
			m.Question[0].Qtype = dns.TypeTXT
		}
		m.Id = uint16(100 + i)
		b := pack(t, m)
		all = binary.BigEndian.AppendUint16(all, uint16(len(b)))
		all = append(all, b...)
	}
	if _, err := c.Write(all); err != nil { // every query in one segment
		t.Fatal(err)
	}
	seen := map[uint16]int{}
	for range names {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		m := mustUnpack(t, b)
		seen[m.Id] = m.Rcode
	}
	want := map[uint16]int{100: 0, 101: 0, 102: 3, 103: 0, 104: dns.RcodeRefused}
	for id, rc := range want {
		if got, ok := seen[id]; !ok || got != rc {
			t.Errorf("id %d: rcode %d (seen %v), want %d", id, got, ok, rc)
		}
	}
}

func TestTCPIdleTimeout(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 200*time.Millisecond, nil)
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v, want EOF (closed by the server)", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("closed after %v, want about 200ms", d)
	}
}

func TestXfrHook(t *testing.T) {
	var calls atomic.Int32
	xfr := func(w dns.ResponseWriter, req *dns.Msg) bool {
		calls.Add(1)
		if req.Question[0].Name == "pass.diff.test." {
			return false
		}
		if req.Opcode == dns.OpcodeNotify {
			r := new(dns.Msg)
			r.SetReply(req)
			r.Authoritative = true
			w.WriteMsg(r)
			return true
		}
		for i := 0; i < 3; i++ { // an AXFR in three messages
			r := new(dns.Msg)
			r.SetReply(req)
			r.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"part"}}}
			if err := w.WriteMsg(r); err != nil {
				t.Errorf("write: %v", err)
			}
		}
		return true
	}
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, xfr)
	m := mustUnpack(t, exchangeRaw(t, ts.udp, q("diff.test.", dns.TypeSOA, 0, false, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify })))
	if m.Rcode != 0 || !m.Authoritative || m.Opcode != dns.OpcodeNotify {
		t.Errorf("NOTIFY reply: %v", m)
	}
	m = mustUnpack(t, exchangeRaw(t, ts.udp, q("pass.diff.test.", dns.TypeSOA, 0, false, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify })))
	if m.Rcode != dns.RcodeNotImplemented {
		t.Errorf("declined NOTIFY: rcode %d", m.Rcode)
	}
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b := q("diff.test.", dns.TypeAXFR, 0, false)
	c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	n := 0
	for i := 0; i < 3; i++ {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		n += len(mustUnpack(t, buf).Answer)
	}
	if n != 3 {
		t.Errorf("AXFR: %d records, want 3", n)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls", calls.Load())
	}
}

// TestSnapshots serves through New with published snapshots: nothing published → SERVFAIL, a
// swap is seen by the next query (the answer cache starts over).
func TestSnapshots(t *testing.T) {
	var p atomic.Pointer[snapshot.Snapshot]
	reg := prometheus.NewRegistry()
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, Snapshots: &p, Log: zerolog.Nop(), Registerer: reg, UDPSockets: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	u, tc := s.Addrs()
	if len(u) != 1 || len(tc) != 1 || u[0].(*net.UDPAddr).Port != tc[0].(*net.TCPAddr).Port {
		t.Fatalf("addrs %v %v: want one UDP and one TCP on the same port", u, tc)
	}
	addr := u[0].String()
	qb := q("www.diff.test.", dns.TypeA, 0, false)
	if m := mustUnpack(t, exchangeRaw(t, addr, qb)); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("before a snapshot: rcode %d, want SERVFAIL", m.Rcode)
	}
	p.Store(&snapshot.Snapshot{Gen: 1, Zones: testZones(t)})
	for i := 0; i < 4; i++ { // every socket's cache warms up
		if m := mustUnpack(t, exchangeRaw(t, addr, qb)); len(m.Answer) != 2 {
			t.Fatalf("snapshot 1: %v", m)
		}
	}
	z, err := zone.Parse("diff.test.", strings.NewReader("$TTL 60\n@ SOA ns1 h 2 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.53\nwww A 203.0.113.7\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	p.Store(&snapshot.Snapshot{Gen: 2, Zones: zone.NewSet(z)})
	for i := 0; i < 4; i++ {
		m := mustUnpack(t, exchangeRaw(t, addr, qb))
		if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "203.0.113.7" {
			t.Fatalf("snapshot 2: %v", m)
		}
	}
	if n := metricValue(t, reg, "lbdns_dns_requests_total", "proto=udp", "qtype=A"); n != 9 {
		t.Errorf("lbdns_dns_requests_total{proto=udp,qtype=A} = %v, want 9", n)
	}
	if n := metricValue(t, reg, "lbdns_dns_zone_responses_total", "zone=diff.test.", "rcode=NOERROR"); n != 8 {
		t.Errorf("lbdns_dns_zone_responses_total{zone=diff.test.,rcode=NOERROR} = %v, want 8", n)
	}
	if n := metricValue(t, reg, "lbdns_dns_responses_total", "proto=udp", "rcode=SERVFAIL"); n != 1 {
		t.Errorf("lbdns_dns_responses_total{proto=udp,rcode=SERVFAIL} = %v, want 1", n)
	}
}

func TestShutdownDrainsTCP(t *testing.T) {
	ts := startTest(t, &zoneView{zones: testZones(t)}, 0, nil)
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A query answered, then shutdown closes the idle connection well before its idle timeout.
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b := pack(t, newQuery("www.diff.test.", dns.TypeA, 0, false))
	c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		t.Fatal(err)
	}
	io.ReadFull(c, make([]byte, binary.BigEndian.Uint16(l[:])))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("shutdown took %v", time.Since(start))
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after shutdown")
	}
}

// metricValue returns the value of the counter (or the sample count of the histogram) name
// whose labels include every "k=v" given.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]bool{}
			for _, l := range m.GetLabel() {
				have[l.GetName()+"="+l.GetValue()] = true
			}
			for _, l := range labels {
				if !have[l] {
					continue next
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestListenSeveral serves two addresses, IPv4 and IPv6 loopback, each on UDP and TCP.
func TestListenSeveral(t *testing.T) {
	if c, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback")
	} else {
		c.Close()
	}
	m, _ := newMetrics(nil)
	s := newServer([]string{"127.0.0.1:0", "[::1]:0"}, 2, DefaultTCPIdleTimeout, zerolog.Nop(), nil, staticSource{&zoneView{zones: testZones(t)}}, m)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	u, tc := s.Addrs()
	if len(u) != 2 || len(tc) != 2 {
		t.Fatalf("addrs %v %v", u, tc)
	}
	for i := range u {
		for _, b := range [][]byte{exchangeRaw(t, u[i].String(), q("www.diff.test.", dns.TypeA, 0, false)), exchangeTCPRaw(t, tc[i].String(), q("www.diff.test.", dns.TypeA, 0, false))} {
			if m := mustUnpack(t, b); len(m.Answer) != 2 {
				t.Errorf("%v: %v", u[i], m)
			}
		}
	}
	// A second server cannot take the same address: its TCP bind fails and it releases what it bound.
	s2 := newServer([]string{tc[0].String()}, 1, DefaultTCPIdleTimeout, zerolog.Nop(), nil, staticSource{nil}, m)
	if err := s2.Start(); err == nil {
		s2.Shutdown(context.Background())
		t.Fatal("a second server started on an address in use")
	}
	// The first server still answers alone.
	if m := mustUnpack(t, exchangeRaw(t, u[0].String(), q("www.diff.test.", dns.TypeA, 0, false))); len(m.Answer) != 2 {
		t.Errorf("after the failed start: %v", m)
	}
}
