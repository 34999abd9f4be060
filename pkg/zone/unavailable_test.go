package zone

import (
	"testing"

	"github.com/miekg/dns"
)

func TestUnavailable(t *testing.T) {
	z := Unavailable("corp.example")
	if z.Available() || z.Origin() != "corp.example." {
		t.Fatalf("Unavailable: available=%v origin=%q", z.Available(), z.Origin())
	}
	if r := z.Lookup("www.corp.example.", dns.TypeA, nil); r.Kind != ServFail || r.Rcode != dns.RcodeServerFailure || r.AA {
		t.Errorf("inside: %+v, want SERVFAIL without AA", r)
	}
	if r := z.Lookup("www.other.example.", dns.TypeA, nil); r.Rcode != dns.RcodeRefused {
		t.Errorf("outside: %+v, want REFUSED", r)
	}
	if s := NewSet(z); s.Find("a.corp.example.") != z {
		t.Errorf("Set.Find does not find the unavailable zone")
	}
}
