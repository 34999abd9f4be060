package zone

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestLoadErrors loads each zone under testdata/bad and compares every problem reported
// (file:line: message, one per line) with the .golden file beside it.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ origin, file string }{
		{"bad.test.", "checks.zone"},
		{"syntax.test.", "syntax.zone"},
		{"nosoa.test.", "nosoa.zone"},
		{"badinc.test.", "badinclude.zone"},
		{"badinc.test.", "missinginclude.zone"},
		{"incchecks.test.", "incchecks.zone"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tc.file)
			z, err := Load(tc.origin, path)
			if err == nil {
				t.Fatalf("loaded %s, want errors", z.Origin())
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not zone.Errors", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, ".zone") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestLoadInclude(t *testing.T) {
	z, err := Load("inc.test.", "testdata/include/main.zone")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []Case{
		{Qname: "www.inc.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"www.inc.test. 300 IN A 192.0.2.2"}},
		{Qname: "nested.inc.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"nested.inc.test. 300 IN A 192.0.2.3"}},
		{Qname: "after.inc.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"after.inc.test. 300 IN A 192.0.2.9"}},
		{Qname: "sub.inc.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"sub.inc.test. 300 IN A 192.0.2.4"}},
		{Qname: "x.sub.inc.test.", Qtype: dns.TypeA, Kind: Success, AA: true, Answer: []string{"x.sub.inc.test. 300 IN A 192.0.2.5"}},
		// $INCLUDE with an origin does not change the origin of the including file.
		{Qname: "last.inc.test.", Qtype: dns.TypeTXT, Kind: Success, AA: true, Answer: []string{`last.inc.test. 300 IN TXT "end"`}},
	} {
		checkResult(t, tc, z.Lookup(tc.Qname, tc.Qtype, nil))
	}
	// An absolute path works the same.
	abs, _ := filepath.Abs("testdata/include/main.zone")
	if _, err := Load("inc.test.", abs); err != nil {
		t.Fatal(err)
	}
}

func TestParseNoInclude(t *testing.T) {
	_, err := Parse("x.test.", strings.NewReader("$INCLUDE /etc/hostname\n"), "")
	if err == nil || !strings.Contains(err.Error(), "$INCLUDE directive not allowed") {
		t.Fatalf("got %v, want $INCLUDE refused", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("x.test.", "testdata/does-not-exist.zone")
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/does-not-exist.zone: ") {
		t.Fatalf("got %v", err)
	}
}

func TestFromRRsErrors(t *testing.T) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	_, err := FromRRs("x.test.", []dns.RR{
		rr("x.test. 300 IN SOA ns h 1 2 3 4 5"),
		rr("x.test. 300 IN NS ns.x.test."),
		rr("www.example.org. 300 IN A 192.0.2.1"),
	})
	want := "www.example.org. is outside the zone x.test."
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if _, err := FromRRs("x..test", nil); err == nil {
		t.Fatal("bad origin accepted")
	}
}
