package zone

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// fakeLB answers marked names from a table: mark → qtype → rdata (zone text after the
// type; "CNAME target" makes a CNAME). A qtype missing from the table is not owned.
type fakeLB map[int]map[uint16][]string

func (f fakeLB) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	rdatas, owns := f[mark][qtype]
	if !owns {
		return dst, false
	}
	for _, rdata := range rdatas {
		typ := dns.TypeToString[qtype]
		if target, ok := strings.CutPrefix(rdata, "CNAME "); ok {
			typ, rdata = "CNAME", target
		}
		rr, err := dns.NewRR(owner + " 30 IN " + typ + " " + rdata)
		if err != nil {
			panic(err)
		}
		dst = append(dst, rr)
	}
	return dst, true
}

const (
	lbWWW = iota + 1
	lbWild
	lbCNAME
	lbNewWild
	lbApex
	lbLoop
	lbMX
	lbExt
	lbMail
	lbAlias
)

var testMarks = map[string]int{
	"www.example.test.":       lbWWW,
	"*.wild.example.test.":    lbWild,
	"lbcname.example.test.":   lbCNAME,
	"*.newwild.example.test.": lbNewWild,
	"example.test.":           lbApex,
	"lbloop.example.test.":    lbLoop,
	"lbmx.example.test.":      lbMX,
	"LBext.example.test.":     lbExt,
	"mail.example.test.":      lbMail,
	"alias.example.test.":     lbAlias,
}

var testLB = fakeLB{
	lbWWW:     {dns.TypeA: {"198.51.100.1"}, dns.TypeAAAA: nil},
	lbWild:    {dns.TypeA: {"198.51.100.2"}},
	lbCNAME:   {dns.TypeA: {"CNAME www.example.test."}, dns.TypeCNAME: {"CNAME www.example.test."}},
	lbNewWild: {dns.TypeA: {"198.51.100.4"}},
	lbApex:    {dns.TypeA: {"198.51.100.5"}},
	lbLoop:    {dns.TypeA: {"CNAME lbloop.example.test."}},
	lbMX:      {dns.TypeMX: {"10 mail.example.test.", "20 sip.example.test."}},
	lbExt:     {dns.TypeA: {"CNAME origin.example.org."}},
	lbMail:    {dns.TypeA: {"203.0.113.25"}},
	lbAlias:   {dns.TypeA: {"198.51.100.9"}},
}

func TestWithMarks(t *testing.T) {
	z := loadTestZone(t)
	mz, err := z.WithMarks(testMarks)
	if err != nil {
		t.Fatal(err)
	}
	dyn := testLB
	for _, tc := range []Case{
		// An exact LB name beats zone A/AAAA there; other types come from the zone.
		{Qname: "www.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"www.example.test. 30 IN A 198.51.100.1"}},
		{Qname: "WWW.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"WWW.example.test. 30 IN A 198.51.100.1"}},
		{Qname: "www.example.test.", Qtype: dns.TypeAAAA, Kind: NoData, AA: true, Ns: []string{soaNeg}},
		{Qname: "www.example.test.", Qtype: dns.TypeTXT, Kind: Success, AA: true,
			Answer: []string{`www.example.test. 3600 IN TXT "web"`}},
		{Qname: "www.example.test.", Qtype: dns.TypeANY, Kind: Success, AA: true,
			Answer: []string{"www.example.test. 30 IN A 198.51.100.1"}},
		{Qname: "www.example.test.", Qtype: dns.TypeMX, Kind: NoData, AA: true, Ns: []string{soaNeg}},
		// A zone CNAME into an LB name is followed into the LB.
		{Qname: "chain2.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"chain2.example.test. 3600 IN CNAME www.example.test.", "www.example.test. 30 IN A 198.51.100.1"}},
		// An LB beats a zone CNAME at its name for what it owns; for the rest the zone data
		// (the CNAME) answers, as it would without the LB.
		{Qname: "alias.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"alias.example.test. 30 IN A 198.51.100.9"}},
		{Qname: "alias.example.test.", Qtype: dns.TypeTXT, Kind: Success, AA: true,
			Answer: []string{"alias.example.test. 3600 IN CNAME www.example.test.", `www.example.test. 3600 IN TXT "web"`}},
		// An LB CNAME to a zone name is followed like a zone CNAME (here into another LB).
		{Qname: "lbcname.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"lbcname.example.test. 30 IN CNAME www.example.test.", "www.example.test. 30 IN A 198.51.100.1"}},
		{Qname: "lbcname.example.test.", Qtype: dns.TypeCNAME, Kind: Success, AA: true,
			Answer: []string{"lbcname.example.test. 30 IN CNAME www.example.test."}},
		{Qname: "lbcname.example.test.", Qtype: dns.TypeTXT, Kind: NoData, AA: true, Ns: []string{soaNeg}},
		{Qname: "lbloop.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"lbloop.example.test. 30 IN CNAME lbloop.example.test."}},
		{Qname: "lbext.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"lbext.example.test. 30 IN CNAME origin.example.org."}},
		// A wildcard LB: beats the zone wildcard at its owner, loses to existing names.
		{Qname: "foo.wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"foo.wild.example.test. 30 IN A 198.51.100.2"}},
		{Qname: "foo.wild.example.test.", Qtype: dns.TypeTXT, Kind: Success, AA: true,
			Answer: []string{`foo.wild.example.test. 3600 IN TXT "wild"`}},
		{Qname: "exists.wild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"exists.wild.example.test. 3600 IN A 192.0.2.101"}},
		{Qname: "a.b.newwild.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"a.b.newwild.example.test. 30 IN A 198.51.100.4"}},
		{Qname: "newwild.example.test.", Qtype: dns.TypeA, Kind: NoData, AA: true, Ns: []string{soaNeg}},
		// The apex LB owns A; SOA, NS, MX stay with the zone.
		{Qname: "example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
			Answer: []string{"example.test. 30 IN A 198.51.100.5"}},
		// A target that is an LB name (mail) gets the LB's A in the additional section, never
		// the zone's A it beats; the AAAA the LB does not own comes from the zone (ruling 5).
		{Qname: "example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"example.test. 3600 IN MX 10 mail.example.test."},
			Extra:  []string{"mail.example.test. 30 IN A 203.0.113.25", "mail.example.test. 3600 IN AAAA 2001:db8::25"}},
		// A mail LB's MX answer gets additional records for its in-zone targets: from the
		// LB at LB names, from the zone elsewhere.
		{Qname: "lbmx.example.test.", Qtype: dns.TypeMX, Kind: Success, AA: true,
			Answer: []string{"lbmx.example.test. 30 IN MX 10 mail.example.test.", "lbmx.example.test. 30 IN MX 20 sip.example.test."},
			Extra:  []string{"mail.example.test. 30 IN A 203.0.113.25", "mail.example.test. 3600 IN AAAA 2001:db8::25", "sip.example.test. 3600 IN A 192.0.2.60"}},
		{Qname: "lbmx.example.test.", Qtype: dns.TypeA, Kind: NoData, AA: true, Ns: []string{soaNeg}},
	} {
		t.Run(tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
			checkResult(t, tc, mz.Lookup(tc.Qname, tc.Qtype, dyn))
		})
	}

	// Without a Dynamic, and in the original zone, the zone data answers.
	www := Case{Qname: "www.example.test.", Qtype: dns.TypeA, Kind: Success, AA: true,
		Answer: []string{"www.example.test. 3600 IN A 192.0.2.10"}}
	checkResult(t, www, mz.Lookup(www.Qname, www.Qtype, nil))
	checkResult(t, www, z.Lookup(www.Qname, www.Qtype, dyn))
	checkResult(t, Case{Qname: "lbcname.example.test.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Kind: NXDomain, AA: true, Ns: []string{soaNeg}},
		z.Lookup("lbcname.example.test.", dns.TypeA, dyn))
	if len(mz.RRs()) != len(z.RRs()) {
		t.Errorf("marks changed the records: %d, want %d", len(mz.RRs()), len(z.RRs()))
	}
}

func TestWithMarksErrors(t *testing.T) {
	z := loadTestZone(t)
	for name, want := range map[string]string{
		"www.example.org.":      "example.test.: load balancer www.example.org. is outside the zone example.test.",
		"sub.example.test.":     "example.test.: load balancer sub.example.test. is at or below the delegation at sub.example.test.",
		"a.b.sub.example.test.": "example.test.: load balancer a.b.sub.example.test. is at or below the delegation at sub.example.test.",
	} {
		_, err := z.WithMarks(map[string]int{name: 1})
		if err == nil || err.Error() != want {
			t.Errorf("WithMarks(%s) = %v, want %q", name, err, want)
		}
	}
}
