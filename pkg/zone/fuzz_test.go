package zone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.zone")
	more, _ := filepath.Glob("testdata/bad/*.zone")
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
}

// exercise runs lookups for every owner name in the zone (and variants) so that fuzzed
// zones also fuzz the tree and the lookup.
func exercise(t *testing.T, z *Zone, extra string) {
	names := []string{z.Origin(), "nx." + z.Origin(), "a.b." + z.Origin(), extra}
	for i, rr := range z.RRs() {
		if i == 200 {
			break
		}
		names = append(names, rr.Header().Name, "x."+rr.Header().Name, strings.ToUpper(rr.Header().Name))
	}
	marks := map[string]int{}
	for i, name := range names {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeNS, dns.TypeDS, dns.TypeANY, dns.TypeTXT} {
			r := z.Lookup(name, qtype, nil)
			if r.Kind == NXDomain && r.Rcode != dns.RcodeNameError {
				t.Fatalf("%s %d: NXDOMAIN kind with rcode %d", name, qtype, r.Rcode)
			}
		}
		marks[strings.ToLower(dns.Fqdn(name))] = i
	}
	if mz, err := z.WithMarks(marks); err == nil {
		for _, name := range names {
			mz.Lookup(name, dns.TypeA, fakeLB{})
		}
	}
	if _, err := FromRRs(z.Origin(), z.RRs()); err != nil {
		t.Fatalf("a loaded zone fails FromRRs: %v", err)
	}
	NewSet(z).Find(extra)
}

// FuzzParse feeds arbitrary master-file text to Parse ($INCLUDE refused): it must return a
// zone or errors, never panic, and a zone it returns must answer any lookup.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		z, err := Parse("example.test.", strings.NewReader(text), "")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		exercise(t, z, text)
	})
}

// FuzzLoad is FuzzParse through a file on disk, with the origin taken from the text.
func FuzzLoad(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(strings.ToUpper(text), "$INCLUDE") {
			return // a fuzzer must not read arbitrary files (or /dev/zero)
		}
		path := filepath.Join(t.TempDir(), "fuzz.zone")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		origin := "example.test."
		if i := strings.Index(text, "$ORIGIN "); i >= 0 {
			if fs := strings.Fields(text[i+len("$ORIGIN "):]); len(fs) > 0 {
				origin = fs[0]
			}
		}
		z, err := Load(origin, path)
		if err != nil {
			if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "invalid zone name") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		exercise(t, z, origin)
	})
}
