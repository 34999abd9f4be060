//go:build knotprobe

package zone

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestKnotProbe compares Lookup with a running knotd serving testdata/example.test.zone and
// testdata/dname.test.zone, for every owner name (and names below, in another case) and
// many types. Names are compared case-insensitively (see the package doc). Run:
//
//	LBDNS_KNOT_ADDR=127.0.0.1:53531 go test -tags knotprobe -run TestKnotProbe ./pkg/zone/
func TestKnotProbe(t *testing.T) {
	addr := os.Getenv("LBDNS_KNOT_ADDR")
	if addr == "" {
		t.Skip("LBDNS_KNOT_ADDR is not set")
	}
	z := loadTestZone(t)
	dz, err := Load("dname.test.", "testdata/dname.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(z, dz)
	c := new(dns.Client)
	sec := func(rrs []dns.RR) string {
		var s []string
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			s = append(s, strings.ToLower(rr.String()))
		}
		sort.Strings(s)
		return strings.Join(s, "\n")
	}
	var names []string
	for _, zz := range []*Zone{z, dz} {
		for _, rr := range zz.RRs() {
			n := rr.Header().Name
			names = append(names, n, "x."+n, "Y.z."+strings.ToUpper(n))
		}
	}
	n := 0
	for _, name := range names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeDS, dns.TypeANY, dns.TypeTXT, dns.TypeCNAME, dns.TypeSOA, dns.TypeMX, dns.TypeSRV, dns.TypeDNAME} {
			m := new(dns.Msg)
			m.SetQuestion(name, qt)
			m.RecursionDesired = false
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			got := set.Find(name).Lookup(name, qt, nil)
			n++
			if r.Rcode != got.Rcode || r.Authoritative != got.AA || sec(r.Answer) != sec(got.Answer) || sec(r.Ns) != sec(got.Ns) || sec(r.Extra) != sec(got.Extra) {
				t.Errorf("%s %s:\nknot: rcode %d aa %v\n%s\n--\n%s\n--\n%s\nours: rcode %d aa %v\n%s\n--\n%s\n--\n%s", name, dns.TypeToString[qt],
					r.Rcode, r.Authoritative, sec(r.Answer), sec(r.Ns), sec(r.Extra),
					got.Rcode, got.AA, sec(got.Answer), sec(got.Ns), sec(got.Extra))
			}
		}
	}
	t.Logf("%d queries compared", n)
}
