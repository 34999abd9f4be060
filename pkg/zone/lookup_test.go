package zone

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Case is one query against a zone and the reply expected, records written as zone text.
type Case struct {
	Qname             string
	Qtype             uint16
	Rcode             int
	Kind              Kind
	AA                bool
	Answer, Ns, Extra []string
}

const soaNeg = "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"

var subReferral = []string{
	"sub.example.test. 3600 IN NS ns.sub.example.test.",
	"sub.example.test. 3600 IN NS ns.example.org.",
	"sub.example.test. 3600 IN NS ns1.example.test.",
}

var subGlue = []string{
	"ns.sub.example.test. 3600 IN A 192.0.2.70",
	"ns.sub.example.test. 3600 IN AAAA 2001:db8::70",
	"ns1.example.test. 3600 IN A 192.0.2.53",
}

var mailExtra = []string{
	"mail.example.test. 3600 IN A 192.0.2.25",
	"mail.example.test. 3600 IN AAAA 2001:db8::25",
}

// Every expectation below was compared with knotd 3.2.6 serving testdata/example.test.zone.
var lookupCases = []Case{
	// Exact matches, with the query's spelling kept in the owner.
	{Qname: "www.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "WwW.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"WwW.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "www.example.test.", Qtype: dns.TypeAAAA, Kind: Success, AA: true,
		Answer: []string{"www.example.test. 3600 IN AAAA 2001:db8::10"}},
	{Qname: "example.test.", Qtype: dns.TypeSOA, Kind: Success, AA: true,
		Answer: []string{"example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"}},
	{Qname: "example.test.", Qtype: dns.TypeNS, Kind: Success, AA: true,
		Answer: []string{"example.test. 3600 IN NS ns1.example.test.", "example.test. 3600 IN NS ns2.example.test."},
		Extra:  []string{"ns1.example.test. 3600 IN A 192.0.2.53", "ns2.example.test. 3600 IN A 192.0.2.54", "ns2.example.test. 3600 IN AAAA 2001:db8::54"}},
	{Qname: "example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
		Answer: []string{"example.test. 3600 IN MX 10 mail.example.test."}, Extra: mailExtra},
	{Qname: "mx2.example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
		Answer: []string{"mx2.example.test. 3600 IN MX 20 mail.example.test.", "mx2.example.test. 3600 IN MX 30 mail.example.org."},
		Extra:  mailExtra},
	{Qname: "_sip._tcp.example.test.", Qtype: dns.TypeSRV, Kind: Success, AA: true,
		Answer: []string{"_sip._tcp.example.test. 3600 IN SRV 10 5 5060 sip.example.test."},
		Extra:  []string{"sip.example.test. 3600 IN A 192.0.2.60"}},

	// NODATA, NXDOMAIN, empty non-terminals.
	{Qname: "www.example.test.", Qtype: dns.TypeMX, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "nothere.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},
	{Qname: "a.b.c.nothere.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},
	{Qname: "b.ent.example.test.", Qtype: dns.TypeA, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "_tcp.example.test.", Qtype: dns.TypeSRV, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "b.ent.example.test.", Qtype: dns.TypeANY, Kind: NoData, AA: true, Ns: []string{soaNeg}},

	// Wildcards (RFC 4592).
	{Qname: "foo.wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"foo.wild.example.test. 3600 IN A 192.0.2.100"}},
	{Qname: "FOO.Wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"FOO.Wild.example.test. 3600 IN A 192.0.2.100"}},
	{Qname: "x.y.wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"x.y.wild.example.test. 3600 IN A 192.0.2.100"}},
	{Qname: "*.wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"*.wild.example.test. 3600 IN A 192.0.2.100"}},
	{Qname: "foo.wild.example.test.", Qtype: dns.TypeMX, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "exists.wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"exists.wild.example.test. 3600 IN A 192.0.2.101"}},
	{Qname: "exists.wild.example.test.", Qtype: dns.TypeTXT, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "zz.ent.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"zz.ent.example.test. 3600 IN A 192.0.2.41"}},
	// b.ent is an empty non-terminal: it blocks *.ent below it, and has no wildcard itself.
	{Qname: "x.b.ent.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},
	{Qname: "wild.example.test.", Qtype: dns.TypeA, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "foo.wcname.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"foo.wcname.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "Foo.WCNAME.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"Foo.WCNAME.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "Foo.Wmx.example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
		Answer: []string{"Foo.Wmx.example.test. 3600 IN MX 10 mail.example.test."}, Extra: mailExtra},

	// CNAMEs.
	{Qname: "alias.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"alias.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "ALIAS.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"ALIAS.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "alias.example.test.", Qtype: dns.TypeCNAME, Kind: Success, AA: true,
		Answer: []string{"alias.example.test. 3600 IN CNAME www.example.test."}},
	{Qname: "alias.example.test.", Qtype: dns.TypeTXT, Kind: Success, AA: true,
		Answer: []string{"alias.example.test. 3600 IN CNAME www.example.test.", `www.example.test. 3600 IN TXT "web"`}},
	{Qname: "alias.example.test.", Qtype: dns.TypeMX, Kind: NoData, AA: true,
		Answer: []string{"alias.example.test. 3600 IN CNAME www.example.test."}, Ns: []string{soaNeg}},
	{Qname: "alias.example.test.", Qtype: dns.TypeANY, Kind: Success, AA: true,
		Answer: []string{"alias.example.test. 3600 IN CNAME www.example.test."}},
	{Qname: "chain1.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"chain1.example.test. 3600 IN CNAME chain2.example.test.", "chain2.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "loop1.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"loop1.example.test. 3600 IN CNAME loop2.example.test.", "loop2.example.test. 3600 IN CNAME loop1.example.test."}},
	{Qname: "self.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"self.example.test. 3600 IN CNAME self.example.test."}},
	{Qname: "dangling.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true,
		Answer: []string{"dangling.example.test. 3600 IN CNAME nothere.example.test."}, Ns: []string{soaNeg}},
	{Qname: "external.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"external.example.test. 3600 IN CNAME www.example.org."}},
	{Qname: "tosub.example.test.", Qtype: dns.TypeA, Kind: Delegation, AA: true,
		Answer: []string{"tosub.example.test. 3600 IN CNAME host.sub.example.test."}, Ns: subReferral, Extra: subGlue},

	{Qname: "towild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"towild.example.test. 3600 IN CNAME x.wcname.example.test.", "x.wcname.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 3600 IN A 192.0.2.10"}},
	// Chains: at most MaxChain CNAMEs; the name after them answers unless it is a CNAME.
	{Qname: "c1.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: chain(1, 5)},
	{Qname: "c6.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: append(chain(6, 10), "c11.example.test. 3600 IN A 192.0.2.111")},
	{Qname: "c6.example.test.", Qtype: dns.TypeMX, Kind: NoData, AA: true,
		Answer: chain(6, 10), Ns: []string{soaNeg}},
	{Qname: "x.alias.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},
	{Qname: "x.www.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},

	// Additional records: from a wildcard (owner = the target) and from glue.
	{Qname: "mxwild.example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
		Answer: []string{"mxwild.example.test. 3600 IN MX 10 host.wild.example.test."},
		Extra:  []string{"host.wild.example.test. 3600 IN A 192.0.2.100"}},
	{Qname: "mxglue.example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
		Answer: []string{"mxglue.example.test. 3600 IN MX 10 ns.sub.example.test."},
		Extra:  []string{"ns.sub.example.test. 3600 IN A 192.0.2.70", "ns.sub.example.test. 3600 IN AAAA 2001:db8::70"}},

	// Delegations.
	{Qname: "sub.example.test.", Qtype: dns.TypeA, Kind: Delegation, Ns: subReferral, Extra: subGlue},
	{Qname: "SUB.example.test.", Qtype: dns.TypeNS, Kind: Delegation, Ns: subReferral, Extra: subGlue},
	{Qname: "x.y.sub.example.test.", Qtype: dns.TypeA, Kind: Delegation, Ns: subReferral, Extra: subGlue},
	{Qname: "ns.sub.example.test.", Qtype: dns.TypeA, Kind: Delegation, Ns: subReferral, Extra: subGlue},
	{Qname: "x.sub.example.test.", Qtype: dns.TypeDS, Kind: Delegation, Ns: subReferral, Extra: subGlue},
	{Qname: "sub.example.test.", Qtype: dns.TypeANY, Kind: Delegation, Ns: subReferral, Extra: subGlue},
	{Qname: "sub.example.test.", Qtype: dns.TypeDS, Kind: Success, AA: true,
		Answer: []string{"sub.example.test. 3600 IN DS 12345 13 2 0000000000000000000000000000000000000000000000000000000000000000"}},
	{Qname: "nods.example.test.", Qtype: dns.TypeDS, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	{Qname: "example.test.", Qtype: dns.TypeDS, Kind: NoData, AA: true, Ns: []string{soaNeg}},

	// ANY: one RRset (RFC 8482), the lowest type as Knot.
	{Qname: "example.test.", Qtype: dns.TypeANY, Kind: Success, AA: true,
		Answer: []string{"example.test. 3600 IN A 192.0.2.1"}},
	{Qname: "www.example.test.", Qtype: dns.TypeANY, Kind: Success, AA: true,
		Answer: []string{"www.example.test. 3600 IN A 192.0.2.10"}},
	{Qname: "foo.wild.example.test.", Qtype: dns.TypeANY, Kind: Success, AA: true,
		Answer: []string{"foo.wild.example.test. 3600 IN A 192.0.2.100"}},
	{Qname: "nothere.example.test.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},

	// Names outside the zone.
	{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, Kind: ServFail},
	{Qname: "xexample.test.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, Kind: ServFail},
}

// chain returns the records cFROM → cFROM+1 … cTO → cTO+1 of the test zone.
func chain(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("c%d.example.test. 3600 IN CNAME c%d.example.test.", i, i+1))
	}
	return out
}

func loadTestZone(t testing.TB) *Zone {
	t.Helper()
	z, err := Load("example.test.", "testdata/example.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestLookup(t *testing.T) {
	z := loadTestZone(t)
	for _, tc := range lookupCases {
		t.Run(tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
			checkResult(t, tc, z.Lookup(tc.Qname, tc.Qtype, nil))
		})
	}
}

func TestLookupConcurrent(t *testing.T) {
	z := loadTestZone(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, tc := range lookupCases {
				if r := z.Lookup(tc.Qname, tc.Qtype, nil); r.Kind != tc.Kind {
					t.Errorf("%s %s: kind %v, want %v", tc.Qname, dns.TypeToString[tc.Qtype], r.Kind, tc.Kind)
				}
			}
		})
	}
	wg.Wait()
}

func checkResult(t *testing.T, tc Case, r Result) {
	t.Helper()
	if r.Kind != tc.Kind {
		t.Errorf("kind %v, want %v", r.Kind, tc.Kind)
	}
	if r.Rcode != tc.Rcode {
		t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.Rcode])
	}
	if r.AA != tc.AA {
		t.Errorf("AA %v, want %v", r.AA, tc.AA)
	}
	checkSection(t, "answer", r.Answer, tc.Answer)
	checkSection(t, "authority", r.Ns, tc.Ns)
	checkSection(t, "additional", r.Extra, tc.Extra)
}

func checkSection(t *testing.T, section string, got []dns.RR, want []string) {
	t.Helper()
	var g, w []string
	for _, rr := range got {
		g = append(g, rr.String())
	}
	for _, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad expected record %q: %v", s, err)
		}
		w = append(w, rr.String())
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s:\n got:\n\t%s\nwant:\n\t%s", section, strings.Join(g, "\n\t"), strings.Join(w, "\n\t"))
	}
}

func TestSet(t *testing.T) {
	z := loadTestZone(t)
	sub, err := Parse("deep.example.test.", strings.NewReader(`
$ORIGIN deep.example.test.
@ 300 IN SOA ns1 h 1 2 3 4 5
@ 300 IN NS ns1
ns1 300 IN A 192.0.2.1
`), "deep.zone")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(z, sub)
	for qname, want := range map[string]*Zone{
		"example.test.":         z,
		"WWW.Example.TEST.":     z,
		"deep.example.test.":    sub,
		"a.b.DEEP.example.test": sub,
		"xdeep.example.test.":   z,
		"example.org.":          nil,
		".":                     nil,
		"test.":                 nil,
	} {
		if got := s.Find(qname); got != want {
			t.Errorf("Find(%q) = %v, want %v", qname, zoneName(got), zoneName(want))
		}
	}
	if zs := s.Zones(); len(zs) != 2 || zs[0] != z || zs[1] != sub {
		t.Errorf("Zones() = %v", zs)
	}
	if got := testing.AllocsPerRun(100, func() { s.Find("Www.Deep.example.test.") }); got != 0 {
		t.Errorf("Find allocates %v times", got)
	}
}

func zoneName(z *Zone) string {
	if z == nil {
		return "<nil>"
	}
	return z.Origin()
}

func TestRRs(t *testing.T) {
	z := loadTestZone(t)
	rrs := z.RRs()
	if _, ok := rrs[0].(*dns.SOA); !ok || rrs[0] != z.SOA() {
		t.Fatalf("first record %v, want the SOA", rrs[0])
	}
	// A zone built from its own records (a transfer) answers the same.
	z2, err := FromRRs(z.Origin(), append(rrs, z.SOA()))
	if err != nil {
		t.Fatal(err)
	}
	if len(z2.RRs()) != len(rrs) {
		t.Errorf("FromRRs kept %d records, want %d", len(z2.RRs()), len(rrs))
	}
	for _, tc := range lookupCases {
		checkResult(t, tc, z2.Lookup(tc.Qname, tc.Qtype, nil))
	}
}

func BenchmarkLookup(b *testing.B) {
	z := loadTestZone(b)
	for _, bc := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"exact", "www.example.test.", dns.TypeA},
		{"nxdomain", "nothere.example.test.", dns.TypeA},
		{"nodata", "www.example.test.", dns.TypeMX},
		{"mx-additional", "example.test.", dns.TypeMX},
		{"referral", "x.sub.example.test.", dns.TypeA},
		{"wildcard", "foo.wild.example.test.", dns.TypeA},
		{"cname", "alias.example.test.", dns.TypeA},
		{"mixed-case", "WwW.example.test.", dns.TypeA},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				z.Lookup(bc.qname, bc.qtype, nil)
			}
		})
	}
}

func TestLookupAllocs(t *testing.T) {
	z := loadTestZone(t)
	for _, q := range []struct {
		qname string
		qtype uint16
	}{
		{"www.example.test.", dns.TypeA},
		{"example.test.", dns.TypeMX},
		{"nothere.example.test.", dns.TypeA},
		{"www.example.test.", dns.TypeMX},
		{"x.sub.example.test.", dns.TypeA},
	} {
		if n := testing.AllocsPerRun(100, func() { z.Lookup(q.qname, q.qtype, nil) }); n != 0 {
			t.Errorf("Lookup(%s, %s) allocates %v times", q.qname, dns.TypeToString[q.qtype], n)
		}
	}
}

// TestExampleZone loads the demo zone served by `make run`.
func TestExampleZone(t *testing.T) {
	z, err := Load("example.com.", "../../zones/example.com.zone")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []Case{
		{Qname: "www.example.com.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"www.example.com. 3600 IN A 192.0.2.10"}},
		{Qname: "blog.example.com.", Qtype: dns.TypeAAAA, Kind: Success, AA: true,
			Answer: []string{"blog.example.com. 3600 IN CNAME www.example.com.", "www.example.com. 3600 IN AAAA 2001:db8::10"}},
		{Qname: "x.apps.example.com.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"x.apps.example.com. 3600 IN A 203.0.113.80"}},
		{Qname: "host.sub.example.com.", Qtype: dns.TypeA, Kind: Delegation,
			Ns:    []string{"sub.example.com. 3600 IN NS ns1.sub.example.com.", "sub.example.com. 3600 IN NS ns2.sub.example.com."},
			Extra: []string{"ns1.sub.example.com. 3600 IN A 198.51.100.70", "ns2.sub.example.com. 3600 IN AAAA 2001:db8:2::70"}},
	} {
		checkResult(t, tc, z.Lookup(tc.Qname, tc.Qtype, nil))
	}
}

func TestLookupDNAME(t *testing.T) {
	z, err := Load("dname.test.", "testdata/dname.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	const soa = "dname.test. 5 IN SOA ns.dname.test. h.dname.test. 1 2 3 4 5"
	loop := []string{"loop.dname.test. 300 IN DNAME a.loop.dname.test."}
	for i, b := 0, "b."; i < MaxChain; i, b = i+1, b+"a." {
		loop = append(loop, fmt.Sprintf("%sloop.dname.test. 300 IN CNAME %sa.loop.dname.test.", b, b))
	}
	for _, tc := range []Case{
		{Qname: "www.old.dname.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{
			"old.dname.test. 300 IN DNAME new.dname.test.",
			"www.old.dname.test. 300 IN CNAME www.new.dname.test.",
			"www.new.dname.test. 300 IN A 192.0.2.2"}},
		{Qname: "Www.Old.dname.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{
			"old.dname.test. 300 IN DNAME new.dname.test.",
			"Www.Old.dname.test. 300 IN CNAME www.new.dname.test.",
			"www.new.dname.test. 300 IN A 192.0.2.2"}},
		{Qname: "www.old.dname.test.", Qtype: dns.TypeCNAME, Kind: Success, AA: true, Answer: []string{
			"old.dname.test. 300 IN DNAME new.dname.test.",
			"www.old.dname.test. 300 IN CNAME www.new.dname.test."}},
		{Qname: "www.old.dname.test.", Qtype: dns.TypeANY, Kind: Success, AA: true, Answer: []string{
			"old.dname.test. 300 IN DNAME new.dname.test.",
			"www.old.dname.test. 300 IN CNAME www.new.dname.test.",
			"www.new.dname.test. 300 IN A 192.0.2.2"}},
		{Qname: "old.dname.test.", Qtype: dns.TypeA, Kind: NoData, AA: true, Ns: []string{soa}},
		{Qname: "old.dname.test.", Qtype: dns.TypeDNAME, Kind: Success, AA: true,
			Answer: []string{"old.dname.test. 300 IN DNAME new.dname.test."}},
		{Qname: "x.old.dname.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Answer: []string{
			"old.dname.test. 300 IN DNAME new.dname.test.",
			"x.old.dname.test. 300 IN CNAME x.new.dname.test."}, Ns: []string{soa}},
		{Qname: "www.ext.dname.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{
			"ext.dname.test. 300 IN DNAME example.org.",
			"www.ext.dname.test. 300 IN CNAME www.example.org."}},
		{Qname: "b.loop.dname.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: loop},
	} {
		t.Run(tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
			checkResult(t, tc, z.Lookup(tc.Qname, tc.Qtype, nil))
		})
	}
}
