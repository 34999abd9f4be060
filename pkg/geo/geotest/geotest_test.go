package geotest

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/pkg/region"
	"github.com/oschwald/maxminddb-golang/v2"
)

func TestDefaultRecordsAreConsistent(t *testing.T) {
	seen := map[netip.Prefix]bool{}
	for _, r := range DefaultRecords() {
		if !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() || seen[r.Prefix] {
			t.Errorf("bad or duplicate prefix %v", r.Prefix)
		}
		seen[r.Prefix] = true
		if !region.ValidCountry(r.Country) {
			t.Errorf("%v: bad country %q", r.Prefix, r.Country)
		}
		if (r.Country == "US" || r.Country == "CA") && !region.ValidSubdivision(r.Country, r.Subdivision) {
			t.Errorf("%v: bad subdivision %q", r.Prefix, r.Subdivision)
		}
	}
	if len(DefaultASNRecords()) != len(DefaultRecords()) {
		t.Error("ASN records do not match")
	}
}

func TestLayouts(t *testing.T) {
	dir := t.TempDir()
	v4 := []Record{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Country: "US", Subdivision: "Texas"}}
	both := append(v4, Record{Prefix: netip.MustParsePrefix("2001:db8::/32"), Country: "NL"})
	for _, c := range []struct {
		name   string
		layout Layout
		recs   []Record
		ipv    uint
	}{
		{"maxmind.mmdb", MaxMind, v4, 6},
		{"ipl4.mmdb", IPLocationDB, v4, 4},
		{"ipl6.mmdb", IPLocationDB, both, 6},
	} {
		p := filepath.Join(dir, c.name)
		WriteCity(t, p, c.layout, c.recs)
		r, err := maxminddb.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Metadata.IPVersion != c.ipv {
			t.Errorf("%s: ip_version %d, want %d", c.name, r.Metadata.IPVersion, c.ipv)
		}
		r.Close()
	}
	if err := BuildCity(filepath.Join(dir, "x.mmdb"), Layout(7), v4); err == nil || !strings.Contains(err.Error(), "unknown layout") {
		t.Errorf("unknown layout: %v", err)
	}
	if err := BuildCity(filepath.Join(dir, "y.mmdb"), MaxMind, []Record{{Country: "US"}}); err == nil || !strings.Contains(err.Error(), "record 0") {
		t.Errorf("invalid prefix: %v", err)
	}
	if err := BuildASN(filepath.Join(dir, "missing", "a.mmdb"), nil); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if _, err := os.Stat(Default(t)); err != nil {
		t.Error(err)
	}
}
