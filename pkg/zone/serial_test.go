package zone

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestWithSerial(t *testing.T) {
	const src = `$ORIGIN s.test.
$TTL 300
@ IN SOA ns1 hostmaster 7 3600 600 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
* IN TXT "wild"
`
	z, err := Parse("s.test.", strings.NewReader(src), "s.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	nz := z.WithSerial(9)
	if nz.SOA().Serial != 9 || z.SOA().Serial != 7 {
		t.Fatalf("serials: new %d (want 9), old %d (want 7)", nz.SOA().Serial, z.SOA().Serial)
	}
	if z.WithSerial(7) != z {
		t.Error("the same serial made a copy")
	}
	soaOf := func(z *Zone, name string, qtype uint16, sec string) uint32 {
		t.Helper()
		r := z.Lookup(name, qtype, nil)
		rrs := r.Answer
		if sec == "ns" {
			rrs = r.Ns
		}
		for _, rr := range rrs {
			if s, ok := rr.(*dns.SOA); ok {
				return s.Serial
			}
		}
		t.Fatalf("%s %s: no SOA in %s: %+v", name, dns.TypeToString[qtype], sec, r)
		return 0
	}
	for _, c := range []struct {
		z    *Zone
		want uint32
	}{{z, 7}, {nz, 9}} {
		if got := soaOf(c.z, "s.test.", dns.TypeSOA, "an"); got != c.want {
			t.Errorf("SOA query: %d, want %d", got, c.want)
		}
		if got := soaOf(c.z, "nope.www.s.test.", dns.TypeA, "ns"); got != c.want {
			t.Errorf("NXDOMAIN: %d, want %d", got, c.want)
		}
		if got := soaOf(c.z, "www.s.test.", dns.TypeAAAA, "ns"); got != c.want {
			t.Errorf("NODATA: %d, want %d", got, c.want)
		}
		if rrs := c.z.RRs(); rrs[0].(*dns.SOA).Serial != c.want {
			t.Errorf("RRs()[0] serial %d, want %d", rrs[0].(*dns.SOA).Serial, c.want)
		}
	}
	// The rest of the data is shared and still answers.
	if r := nz.Lookup("www.s.test.", dns.TypeA, nil); len(r.Answer) != 1 {
		t.Errorf("www A in the copy: %+v", r)
	}
	if r := nz.Lookup("x.s.test.", dns.TypeTXT, nil); len(r.Answer) != 1 {
		t.Errorf("wildcard in the copy: %+v", r)
	}
	if r := nz.Lookup("s.test.", dns.TypeNS, nil); len(r.Answer) != 1 || len(r.Extra) != 1 {
		t.Errorf("apex NS with glue in the copy: %+v", r)
	}
	if u := Unavailable("u.test."); u.WithSerial(3) != u {
		t.Error("an unavailable zone was copied")
	}
}
