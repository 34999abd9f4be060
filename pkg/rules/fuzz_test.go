package rules

import (
	"net/netip"
	"testing"
)

// FuzzCompile checks that Compile never panics, that whatever compiles evaluates without
// panicking on a few queries, and that the canonical form compiles back to an expression
// that prints the same and evaluates the same. Seeds are in testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		``,
		`ip.src.country eq "US" and dns.qry.type in {1 28}`,
		`not ip.src in {10.0.0.0/8 192.0.2.1..192.0.2.9 2001:db8::/32}`,
		`lower(dns.qry.name) matches r#"^www\."#`,
		`ends_with(dns.qry.name, ".example.com") xor dns.rr.opt.client`,
		`dns.rr.opt.client.addr in {"192.0.2.0" "2001:db8::"}`,
	} {
		f.Add(s)
	}
	queries := []Fields{
		{},
		base(),
		{
			LBName: "LB.Example.COM", Src: netip.MustParseAddr("2001:db8::1"), ASN: 1,
			Country: "GB", Subdivision: "GB-ENG", QName: "A.", QType: 28,
			ECS: true, ECSAddr: netip.MustParseAddr("2001:db8::"),
		},
		{ECS: true, Src: netip.MustParseAddr("::ffff:10.0.0.1"), Subdivision: "CA"},
	}
	f.Fuzz(func(t *testing.T, cond string) {
		e, err := Compile(cond)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Compile(%q) returned %T, want *Error", cond, err)
			}
			return
		}
		s := e.String()
		if len(s) > maxLen {
			// Escapes can make the canonical form longer than the limit on conditions.
			return
		}
		e2, err := Compile(s)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not compile: %v", s, cond, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("canonical form is not stable: %q gives %q", s, s2)
		}
		if e2.Uses() != e.Uses() {
			t.Fatalf("Uses differ: %q %s, %q %s", cond, e.Uses(), s, e2.Uses())
		}
		for i := range queries {
			if a, b := e.Eval(&queries[i]), e2.Eval(&queries[i]); a != b {
				t.Fatalf("query %d: %q gives %v, its canonical form %q gives %v", i, cond, a, s, b)
			}
		}
	})
}
