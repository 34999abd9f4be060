package server

import (
	"context"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/zone"
)

func origin(addr string, w float64, port uint16) model.Origin {
	return model.Origin{Name: addr, Address: addr, Weight: model.Ptr(w), Enabled: model.Ptr(true), Port: port}
}

// lbSnapshot builds a snapshot of the test zone with load balancers (no monitors: every pool
// ignores health).
func lbSnapshot(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	z, err := zone.Load("diff.test.", "testdata/diff.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	cat := &model.Catalog{
		Pools: []model.Pool{
			{Name: "equal", Origins: []model.Origin{origin("192.0.2.101", 1, 0), origin("192.0.2.102", 1, 0), origin("2001:db8::101", 1, 0)}},
			{Name: "other", Origins: []model.Origin{origin("198.51.100.1", 1, 0)}},
			{Name: "host", Origins: []model.Origin{origin("www.diff.test", 1, 0)}},
			{Name: "mail", Origins: []model.Origin{origin("mx1.example.net", 1, 25), origin("mx2.example.net", 1, 25)}},
			{Name: "srv", Origins: []model.Origin{origin("sip.diff.test", 0.5, 5060)}},
		},
		LoadBalancers: []model.LoadBalancer{
			{Name: "lb.diff.test", DefaultPools: []string{"equal"}, TTL: model.Ptr(45),
				Rules: []*model.Rule{{Name: "ten", Condition: "ip.src in {10.0.0.0/8}", Overrides: model.RuleOverrides{DefaultPools: []string{"other"}}}}},
			{Name: "www.diff.test", DefaultPools: []string{"other"}}, // beats the zone's A at www (ruling 21)
			{Name: "cn.diff.test", DefaultPools: []string{"host"}},
			{Name: "*.wlb.diff.test", DefaultPools: []string{"other"}},
			{Name: "mx.diff.test", DefaultPools: []string{"mail"}},
			{Name: "_x._tcp.diff.test", DefaultPools: []string{"srv"}},
		},
	}
	cat.Normalize()
	if ps := cat.Resolve(); len(ps) > 0 {
		t.Fatalf("resolve: %v", ps)
	}
	snap, err := snapshot.Build(snapshot.Input{Zones: []*zone.Zone{z}, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestLoadBalancedAnswers(t *testing.T) {
	var p atomic.Pointer[snapshot.Snapshot]
	p.Store(lbSnapshot(t))
	reg := prometheus.NewRegistry()
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, Snapshots: &p, Log: zerolog.Nop(), Registerer: reg, UDPSockets: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	u, _ := s.Addrs()
	addr := u[0].String()
	rdata := func(m *dns.Msg) string {
		var out []string
		for _, rr := range m.Answer {
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	cases := []struct {
		name   string
		q      []byte
		rcode  int
		answer string // sorted RDATA
		ttl    uint32
		scope  int // -1: no ECS expected
	}{
		{"equal weights: all v4", q("lb.diff.test.", dns.TypeA, 1232, false), 0, "192.0.2.101 192.0.2.102", 45, -1},
		{"equal weights: v6", q("LB.diff.test.", dns.TypeAAAA, 0, false), 0, "2001:db8::101", 45, -1},
		{"other types from the zone: NODATA", q("lb.diff.test.", dns.TypeTXT, 0, false), 0, "", 0, -1},
		{"rule on ECS address", q("lb.diff.test.", dns.TypeA, 1232, false, withECS("10.1.2.0/24", nil)), 0, "198.51.100.1", 45, 24},
		{"IPv4-mapped ECS: rule on the IPv4 address, scope in IPv6 terms", q("lb.diff.test.", dns.TypeA, 1232, false, withECS("::ffff:10.1.2.0/120", nil)), 0, "198.51.100.1", 45, 120},
		{"ECS outside the rule", q("lb.diff.test.", dns.TypeA, 1232, false, withECS("192.0.2.0/24", nil)), 0, "192.0.2.101 192.0.2.102", 45, 24},
		{"exact LB beats zone A", q("www.diff.test.", dns.TypeA, 0, false), 0, "198.51.100.1", 30, -1},
		{"zone TXT beside an LB", q("www.diff.test.", dns.TypeTXT, 0, false), 0, "\"hello world\"", 60, -1},
		{"hostname origin: CNAME chased into another LB", q("cn.diff.test.", dns.TypeA, 0, false), 0, "198.51.100.1 www.diff.test.", 30, -1},
		{"wildcard LB", q("a.b.wlb.diff.test.", dns.TypeA, 1232, false), 0, "198.51.100.1", 30, -1},
		{"MX LB", q("mx.diff.test.", dns.TypeMX, 0, false), 0, "10 mx1.example.net. 10 mx2.example.net.", 30, -1},
		{"SRV LB", q("_x._tcp.diff.test.", dns.TypeSRV, 0, false), 0, "0 50 5060 sip.diff.test.", 30, -1},
		{"ANY at an address LB", q("lb.diff.test.", dns.TypeANY, 0, false), 0, "192.0.2.101 192.0.2.102", 45, -1},
		{"ANY at an MX LB", q("mx.diff.test.", dns.TypeANY, 0, false), 0, "10 mx1.example.net. 10 mx2.example.net.", 30, -1},
		{"ANY at an SRV LB", q("_x._tcp.diff.test.", dns.TypeANY, 0, false), 0, "0 50 5060 sip.diff.test.", 30, -1},
		{"static answer with ECS: scope 0", q("mail.diff.test.", dns.TypeA, 1232, false, withECS("10.1.2.0/24", nil)), 0, "192.0.2.25", 300, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for round := 0; round < 2; round++ { // the second round would come from a cache
				m := mustUnpack(t, exchangeRaw(t, addr, c.q))
				if m.Rcode != c.rcode || !m.Authoritative {
					t.Fatalf("rcode %s aa=%v", dns.RcodeToString[m.Rcode], m.Authoritative)
				}
				if got := rdata(m); got != c.answer {
					t.Errorf("answer %q, want %q\n%v", got, c.answer, m)
				}
				if c.ttl != 0 && len(m.Answer) > 0 && m.Answer[0].Header().Ttl != c.ttl {
					t.Errorf("TTL %d, want %d", m.Answer[0].Header().Ttl, c.ttl)
				}
				e := ecsOf(m)
				if c.scope < 0 && e != nil || c.scope >= 0 && (e == nil || int(e.SourceScope) != c.scope) {
					t.Errorf("ECS %v, want scope %d", e, c.scope)
				}
			}
		})
	}
	if n := metricValue(t, reg, "lbdns_lb_answers_total", "lb=lb.diff.test.", "pool=equal"); n < 2 {
		t.Errorf("lbdns_lb_answers_total{lb=lb.diff.test.,pool=equal} = %v", n)
	}
}

func BenchmarkServeLB(b *testing.B) {
	snap := lbSnapshot(b)
	benchHandle(b, newZoneView(snap), q("lb.diff.test.", dns.TypeA, 1232, false))
}

func BenchmarkServeLBWithECS(b *testing.B) {
	snap := lbSnapshot(b)
	benchHandle(b, newZoneView(snap), q("lb.diff.test.", dns.TypeA, 1232, false, withECS("10.1.2.0/24", nil)))
}

// TestStartingSnapshot (ruling 8): before the first health round, load-balanced names answer
// SERVFAIL while zone data is answered; the next snapshot serves both.
func TestStartingSnapshot(t *testing.T) {
	var p atomic.Pointer[snapshot.Snapshot]
	snap := lbSnapshot(t)
	starting := *snap
	starting.Starting = true
	p.Store(&starting)
	addr := serveSnapshots(t, &p)
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.SetEdns0(1232, false)
		r, err := dns.Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := ask("lb.diff.test.", dns.TypeA); r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 || r.Authoritative {
		t.Errorf("LB name while starting: %v, want SERVFAIL without answer", r)
	}
	if r := ask("lb.diff.test.", dns.TypeTXT); r.Rcode != dns.RcodeSuccess {
		t.Errorf("zone data (TXT) at an LB name while starting: %v, want NOERROR", r)
	}
	if r := ask("www.diff.test.", dns.TypeTXT); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("zone data while starting: %v", r)
	}
	p.Store(snap)
	if r := ask("lb.diff.test.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Errorf("LB name after the first round: %v", r)
	}
}

// TestOtherZoneTargets (ruling 5): MX and SRV targets in another served zone get their
// addresses in the additional section too.
func TestOtherZoneTargets(t *testing.T) {
	a, err := zone.Parse("a.test.", strings.NewReader("$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n@ IN MX 10 mx.b.test.\n_s._tcp IN SRV 0 1 5060 sip.b.test.\n"), "a.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	b, err := zone.Parse("b.test.", strings.NewReader("$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.2\nmx IN A 192.0.2.25\nmx IN AAAA 2001:db8::25\nsip IN A 192.0.2.50\n"), "b.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	ts := startTest(t, &zoneView{zones: zone.NewSet(a, b)}, 0, nil)
	for _, c := range []struct {
		name  string
		qtype uint16
		want  []string
	}{
		{"a.test.", dns.TypeMX, []string{"mx.b.test. A 192.0.2.25", "mx.b.test. AAAA 2001:db8::25"}},
		{"_s._tcp.a.test.", dns.TypeSRV, []string{"sip.b.test. A 192.0.2.50"}},
	} {
		m := new(dns.Msg)
		m.SetQuestion(c.name, c.qtype)
		r, err := dns.Exchange(m, ts.udp)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rr := range r.Extra {
			switch x := rr.(type) {
			case *dns.A:
				got = append(got, x.Hdr.Name+" A "+x.A.String())
			case *dns.AAAA:
				got = append(got, x.Hdr.Name+" AAAA "+x.AAAA.String())
			}
		}
		sort.Strings(got)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %s: additional %q, want %q", c.name, dns.TypeToString[c.qtype], got, c.want)
		}
	}
}

// TestOtherZoneLBTargets: an MX load balancer's exchanger that is a load-balanced name in
// another served zone gets the address its load balancer decides, and the MX answer stays
// whole (the decisions share the worker's record buffers).
func TestOtherZoneLBTargets(t *testing.T) {
	a, err := zone.Parse("a.test.", strings.NewReader("$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n"), "a.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	b, err := zone.Parse("b.test.", strings.NewReader("$TTL 300\n@ IN SOA ns h 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.2\nmx2 IN A 192.0.2.26\n"), "b.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	cat := &model.Catalog{
		Pools: []model.Pool{
			{Name: "mailers", Origins: []model.Origin{origin("mx.b.test", 1, 25), origin("mx2.b.test", 1, 25)}},
			{Name: "mxaddr", Origins: []model.Origin{origin("192.0.2.77", 1, 0)}},
		},
		LoadBalancers: []model.LoadBalancer{
			{Name: "mail.a.test", DefaultPools: []string{"mailers"}},
			{Name: "mx.b.test", DefaultPools: []string{"mxaddr"}},
		},
	}
	cat.Normalize()
	if ps := cat.Resolve(); len(ps) > 0 {
		t.Fatalf("resolve: %v", ps)
	}
	snap, err := snapshot.Build(snapshot.Input{Zones: []*zone.Zone{a, b}, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	var p atomic.Pointer[snapshot.Snapshot]
	p.Store(snap)
	addr := serveSnapshots(t, &p)
	m := new(dns.Msg)
	m.SetQuestion("mail.a.test.", dns.TypeMX)
	r, err := dns.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	var mx, extra []string
	for _, rr := range r.Answer {
		if x, ok := rr.(*dns.MX); ok {
			mx = append(mx, x.Mx)
		}
	}
	for _, rr := range r.Extra {
		if x, ok := rr.(*dns.A); ok {
			extra = append(extra, x.Hdr.Name+" "+x.A.String())
		}
	}
	sort.Strings(mx)
	sort.Strings(extra)
	if strings.Join(mx, " ") != "mx.b.test. mx2.b.test." || strings.Join(extra, " ") != "mx.b.test. 192.0.2.77 mx2.b.test. 192.0.2.26" {
		t.Errorf("MX at mail.a.test: answer %v, additional A %v", mx, extra)
	}
}

// serveSnapshots runs a server answering from p on 127.0.0.1 until the test ends and returns
// its UDP address.
func serveSnapshots(t *testing.T, p *atomic.Pointer[snapshot.Snapshot]) string {
	t.Helper()
	s, err := New(Options{Listen: []string{"127.0.0.1:0"}, Snapshots: p, Log: zerolog.Nop(), Registerer: prometheus.NewRegistry(), UDPSockets: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	u, _ := s.Addrs()
	return u[0].String()
}
