package zone

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// lbAddZone has MX and SRV records whose targets are load-balanced names (marked below).
const lbAddZone = `$ORIGIN lbadd.test.
$TTL 3600
@          SOA   ns hostmaster 1 3600 600 86400 60
@          NS    ns
ns         A     192.0.2.53
@          MX    10 lbmail
@          MX    20 static
@          MX    30 LBMAIL
@          MX    40 mail.example.org.
static     A     192.0.2.20
static     AAAA  2001:db8::20
lbmail     A     192.0.2.99 ; beaten by the LB: never in an answer
lbmail     AAAA  2001:db8::99
both       MX    10 v6lb
v6lb       A     192.0.2.66
v6lb       AAAA  2001:db8::66
_sip._tcp  SRV   0 100 5060 lbmail
_sip._tcp  SRV   0 100 5061 x.pool
cn         MX    10 lbcn
lbcn       AAAA  2001:db8::77
mxlb-mx    MX    10 mxlb
mxlb       A     192.0.2.88
*.wmx      MX    10 lbmail
alias      CNAME @
onlymx     MX    10 lbmail
onlymx     TXT   "t"
`

const (
	addMail = iota + 1
	addPool
	addCN
	addMXLB
	addV6
	addOuter
)

var addMarks = map[string]int{
	"lbmail.lbadd.test.": addMail,
	"*.pool.lbadd.test.": addPool,
	"lbcn.lbadd.test.":   addCN,
	"mxlb.lbadd.test.":   addMXLB,
	"v6lb.lbadd.test.":   addV6,
	"outer.lbadd.test.":  addOuter,
}

var addLB = fakeLB{
	addMail:  {dns.TypeA: {"198.51.100.25"}, dns.TypeAAAA: nil}, // owns AAAA: none
	addPool:  {dns.TypeA: {"198.51.100.30", "198.51.100.31"}, dns.TypeAAAA: {"2001:db8:1::30"}},
	addCN:    {dns.TypeA: {"CNAME static.lbadd.test."}, dns.TypeAAAA: {"CNAME static.lbadd.test."}},
	addMXLB:  {dns.TypeMX: {"10 lbmail.lbadd.test."}}, // owns MX only: A from the zone
	addV6:    {dns.TypeAAAA: {"2001:db8:6::1"}},       // owns AAAA only
	addOuter: {dns.TypeMX: {"10 x.pool.lbadd.test.", "20 static.lbadd.test.", "30 lbmail.lbadd.test."}},
}

func loadAddZone(t testing.TB) *Zone {
	t.Helper()
	z, err := Parse("lbadd.test.", strings.NewReader(lbAddZone), "lbadd.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	mz, err := z.WithMarks(addMarks)
	if err != nil {
		t.Fatal(err)
	}
	return mz
}

// TestLBAdditional: MX and SRV targets that are load-balanced names get their A/AAAA in the
// additional section from the load balancer (ruling 5), for zone MX/SRV records and for MX
// load balancers alike; never the zone addresses the load balancer beats.
func TestLBAdditional(t *testing.T) {
	z := loadAddZone(t)
	apexMX := []string{
		"lbadd.test. 3600 IN MX 10 lbmail.lbadd.test.",
		"lbadd.test. 3600 IN MX 20 static.lbadd.test.",
		"lbadd.test. 3600 IN MX 30 LBMAIL.lbadd.test.",
		"lbadd.test. 3600 IN MX 40 mail.example.org.",
	}
	staticExtra := []string{"static.lbadd.test. 3600 IN A 192.0.2.20", "static.lbadd.test. 3600 IN AAAA 2001:db8::20"}
	for _, tc := range []Case{
		// Target order, each target once (LBMAIL is lbmail); out-of-zone targets get nothing.
		{Qname: "lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true, Answer: apexMX,
			Extra: append([]string{"lbmail.lbadd.test. 30 IN A 198.51.100.25"}, staticExtra...)},
		// Through a CNAME chain.
		{Qname: "alias.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: append([]string{"alias.lbadd.test. 3600 IN CNAME lbadd.test."}, apexMX...),
			Extra:  append([]string{"lbmail.lbadd.test. 30 IN A 198.51.100.25"}, staticExtra...)},
		// SRV: an exact LB and a wildcard LB as targets (the owner is the target).
		{Qname: "_sip._tcp.lbadd.test.", Qtype: dns.TypeSRV, Kind: Success, AA: true,
			Answer: []string{"_sip._tcp.lbadd.test. 3600 IN SRV 0 100 5060 lbmail.lbadd.test.", "_sip._tcp.lbadd.test. 3600 IN SRV 0 100 5061 x.pool.lbadd.test."},
			Extra: []string{"lbmail.lbadd.test. 30 IN A 198.51.100.25",
				"x.pool.lbadd.test. 30 IN A 198.51.100.30", "x.pool.lbadd.test. 30 IN A 198.51.100.31", "x.pool.lbadd.test. 30 IN AAAA 2001:db8:1::30"}},
		// An LB that answers a CNAME: no CNAME in the additional section; nothing from the
		// zone either for the types the LB owns.
		{Qname: "cn.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"cn.lbadd.test. 3600 IN MX 10 lbcn.lbadd.test."}},
		// An MX LB as target owns no A/AAAA: the zone's addresses there answer.
		{Qname: "mxlb-mx.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"mxlb-mx.lbadd.test. 3600 IN MX 10 mxlb.lbadd.test."},
			Extra:  []string{"mxlb.lbadd.test. 3600 IN A 192.0.2.88"}},
		// An LB owning only AAAA: the zone's A and the LB's AAAA.
		{Qname: "both.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"both.lbadd.test. 3600 IN MX 10 v6lb.lbadd.test."},
			Extra:  []string{"v6lb.lbadd.test. 3600 IN A 192.0.2.66", "v6lb.lbadd.test. 30 IN AAAA 2001:db8:6::1"}},
		// A wildcard MX whose target is an LB name.
		{Qname: "Foo.wmx.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"Foo.wmx.lbadd.test. 3600 IN MX 10 lbmail.lbadd.test."},
			Extra:  []string{"lbmail.lbadd.test. 30 IN A 198.51.100.25"}},
		// An MX load balancer whose targets are LB names (exact and wildcard) and a zone name.
		{Qname: "outer.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"outer.lbadd.test. 30 IN MX 10 x.pool.lbadd.test.", "outer.lbadd.test. 30 IN MX 20 static.lbadd.test.", "outer.lbadd.test. 30 IN MX 30 lbmail.lbadd.test."},
			Extra: append([]string{"x.pool.lbadd.test. 30 IN A 198.51.100.30", "x.pool.lbadd.test. 30 IN A 198.51.100.31", "x.pool.lbadd.test. 30 IN AAAA 2001:db8:1::30"},
				append(staticExtra, "lbmail.lbadd.test. 30 IN A 198.51.100.25")...)},
		// ANY is minimal and gets no per-query additional records (RFC 8482).
		{Qname: "onlymx.lbadd.test.", Qtype: dns.TypeANY, Kind: Success, AA: true,
			Answer: []string{"onlymx.lbadd.test. 3600 IN MX 10 lbmail.lbadd.test."}},
	} {
		t.Run(tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
			checkResult(t, tc, z.Lookup(tc.Qname, tc.Qtype, addLB))
		})
	}

	// Without a Dynamic the marks are ignored: the zone's addresses answer.
	checkResult(t, Case{Qname: "onlymx.lbadd.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
		Answer: []string{"onlymx.lbadd.test. 3600 IN MX 10 lbmail.lbadd.test."},
		Extra:  []string{"lbmail.lbadd.test. 3600 IN A 192.0.2.99", "lbmail.lbadd.test. 3600 IN AAAA 2001:db8::99"}},
		z.Lookup("onlymx.lbadd.test.", dns.TypeMX, nil))
}

// spyLB records the calls a lookup makes.
type spyLB struct {
	fakeLB
	calls []string
}

func (s *spyLB) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	s.calls = append(s.calls, fmt.Sprintf("%d %s %s", mark, owner, dns.TypeToString[qtype]))
	return s.fakeLB.Answer(mark, owner, qtype, dst)
}

// TestLBAdditionalCalls: the Dynamic is asked for A and AAAA at each LB target once, with the
// target as spelled in the record, and not at all for answers without LB targets.
func TestLBAdditionalCalls(t *testing.T) {
	z := loadAddZone(t)
	for _, c := range []struct {
		qname string
		qtype uint16
		calls string
	}{
		{"lbadd.test.", dns.TypeMX, fmt.Sprintf("%d lbmail.lbadd.test. A, %[1]d lbmail.lbadd.test. AAAA", addMail)},
		{"_sip._tcp.lbadd.test.", dns.TypeSRV, fmt.Sprintf("%d lbmail.lbadd.test. A, %[1]d lbmail.lbadd.test. AAAA, %d x.pool.lbadd.test. A, %[2]d x.pool.lbadd.test. AAAA", addMail, addPool)},
		{"static.lbadd.test.", dns.TypeA, ""},
		{"mxlb-mx.lbadd.test.", dns.TypeMX, fmt.Sprintf("%d mxlb.lbadd.test. A, %[1]d mxlb.lbadd.test. AAAA", addMXLB)},
		{"onlymx.lbadd.test.", dns.TypeANY, ""},
	} {
		spy := &spyLB{fakeLB: addLB}
		z.Lookup(c.qname, c.qtype, spy)
		if got := strings.Join(spy.calls, ", "); got != c.calls {
			t.Errorf("%s %s: calls %q, want %q", c.qname, dns.TypeToString[c.qtype], got, c.calls)
		}
	}
}

// bufLB is a Dynamic that works like pkg/server's: records come from arrays reused every
// lookup, and when dst has no room it continues in one reusable buffer (copying dst there).
// It answers A at every mark and MX at the outer LB.
type bufLB struct {
	a     []dns.A
	mx    []dns.MX
	rrbuf []dns.RR
}

func newBufLB() *bufLB {
	return &bufLB{a: make([]dns.A, 0, 64), mx: make([]dns.MX, 0, 64), rrbuf: make([]dns.RR, 0, 128)}
}

func (d *bufLB) begin() { d.a, d.mx = d.a[:0], d.mx[:0] }

var bufIP = net.IPv4(198, 51, 100, 7).To4()

func (d *bufLB) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	var n int
	switch {
	case qtype == dns.TypeA:
		n = 1
	case qtype == dns.TypeMX && mark == addOuter:
		n = 3
	case qtype == dns.TypeAAAA:
		return dst, true // owns AAAA: none
	default:
		return dst, false
	}
	if cap(dst)-len(dst) < n {
		dst = append(d.rrbuf[:0], dst...)
	}
	hdr := dns.RR_Header{Name: owner, Rrtype: qtype, Class: dns.ClassINET, Ttl: 30}
	if qtype == dns.TypeA {
		d.a = append(d.a, dns.A{Hdr: hdr, A: bufIP})
		return append(dst, &d.a[len(d.a)-1]), true
	}
	for _, t := range []string{"x.pool.lbadd.test.", "static.lbadd.test.", "lbmail.lbadd.test."} {
		d.mx = append(d.mx, dns.MX{Hdr: hdr, Preference: 10, Mx: t})
		dst = append(dst, &d.mx[len(d.mx)-1])
	}
	return dst, true
}

// TestLBAdditionalReusedBuffer: with a Dynamic that reuses one buffer for its records (as
// pkg/server's does), the additional records never overwrite the answer, appending to the
// answer never overwrites them, and the lookup allocates nothing.
func TestLBAdditionalReusedBuffer(t *testing.T) {
	z := loadAddZone(t)
	d := newBufLB()
	for _, c := range []struct {
		qname         string
		qtype         uint16
		answer, extra string
	}{
		{"lbadd.test.", dns.TypeMX,
			"MX 10 lbmail.lbadd.test., MX 20 static.lbadd.test., MX 30 LBMAIL.lbadd.test., MX 40 mail.example.org.",
			"lbmail.lbadd.test. A 198.51.100.7, static.lbadd.test. A 192.0.2.20, static.lbadd.test. AAAA 2001:db8::20"},
		{"_sip._tcp.lbadd.test.", dns.TypeSRV,
			"SRV 0 100 5060 lbmail.lbadd.test., SRV 0 100 5061 x.pool.lbadd.test.",
			"lbmail.lbadd.test. A 198.51.100.7, x.pool.lbadd.test. A 198.51.100.7"},
		{"outer.lbadd.test.", dns.TypeMX,
			"MX 10 x.pool.lbadd.test., MX 10 static.lbadd.test., MX 10 lbmail.lbadd.test.",
			"x.pool.lbadd.test. A 198.51.100.7, static.lbadd.test. A 192.0.2.20, static.lbadd.test. AAAA 2001:db8::20, lbmail.lbadd.test. A 198.51.100.7"},
	} {
		d.begin()
		r := z.Lookup(c.qname, c.qtype, d)
		_ = append(r.Answer, &dns.A{}) // must not write into the additional records
		var an, ex []string
		for _, rr := range r.Answer {
			h := rr.Header()
			an = append(an, dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
		}
		for _, rr := range r.Extra {
			h := rr.Header()
			ex = append(ex, h.Name+" "+dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
		}
		if got := strings.Join(an, ", "); got != c.answer {
			t.Errorf("%s: answer %s, want %s", c.qname, got, c.answer)
		}
		if got := strings.Join(ex, ", "); got != c.extra {
			t.Errorf("%s: additional %s, want %s", c.qname, got, c.extra)
		}
		if n := testing.AllocsPerRun(100, func() { d.begin(); z.Lookup(c.qname, c.qtype, d) }); n != 0 {
			t.Errorf("%s %s allocates %v times", c.qname, dns.TypeToString[c.qtype], n)
		}
	}
}

// BenchmarkLookupLBAdditional: MX/SRV answers whose targets are LB names, with a Dynamic
// that reuses its buffers as pkg/server's does.
func BenchmarkLookupLBAdditional(b *testing.B) {
	z := loadAddZone(b)
	d := newBufLB()
	for _, bc := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"zone-mx", "lbadd.test.", dns.TypeMX},
		{"zone-srv", "_sip._tcp.lbadd.test.", dns.TypeSRV},
		{"lb-mx", "outer.lbadd.test.", dns.TypeMX},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.begin()
				z.Lookup(bc.qname, bc.qtype, d)
			}
		})
	}
}
