// Package geotest writes small MaxMind DB (.mmdb) files for tests: city databases in the
// MaxMind GeoIP2/GeoLite2 City layout or in the ip-location-db (dbip-city-mmdb) layout, ASN
// databases, and a standard test database (Default) that tests across lbdns rely on.
//
// It may import pkg/region and the MaxMind writer; nothing in the serving path imports it.
//
// # The Default database
//
// Default and DefaultASN write the records of DefaultRecords (MaxMind City layout; IPv6 tree
// with the IPv4 space aliased, so ::ffff:127.0.0.1 finds the 127.0.0.1 record). Coordinates
// are those of the named city (rounded to 0.01°, except Mountain View). Region is what
// region.Of gives with the default table; ASN is what DefaultASN maps the prefix to.
//
//	prefix            country  sub  city            lat      lon      region  continent  ASN
//	127.0.0.0/24      US       CA   Mountain View    37.40  -122.10   WNAM    NA         64496
//	127.0.1.0/24      US       NY   New York         40.71   -74.01   ENAM    NA         64497
//	127.0.2.0/24      GB       ENG  London           51.51    -0.13   WEU     EU         64498
//	127.0.3.0/24      DE       HE   Frankfurt        50.11     8.68   WEU     EU         64499
//	127.0.4.0/24      JP       13   Tokyo            35.68   139.69   NEAS    AS         64500
//	127.0.5.0/24      BR       SP   São Paulo       -23.55   -46.63   NSAM    SA         64501
//	127.0.6.0/24      AU       NSW  Sydney          -33.87   151.21   OC      OC         64502
//	127.0.7.0/24      ZA       GP   Johannesburg    -26.20    28.05   SAF     AF         64503
//	127.0.8.0/24      IN       MH   Mumbai           19.08    72.88   SAS     AS         64504
//	127.0.9.0/24      CA       QC   Montréal         45.50   -73.57   ENAM    NA         64505
//	127.0.10.0/24     CA       BC   Vancouver        49.28  -123.12   WNAM    NA         64506
//	127.0.11.0/24     PL       14   Warsaw           52.23    21.01   EEU     EU         64507
//	127.0.12.0/24     AE       DU   Dubai            25.20    55.27   ME      AS         64508
//	127.0.13.0/24     EG       C    Cairo            30.04    31.24   NAF     AF         64509
//	127.0.14.0/24     US       TX   Dallas           32.78   -96.80   ENAM    NA         64510
//	127.0.15.0/24     CO       DC   Bogotá            4.71   -74.07   NSAM    SA         64511
//	127.0.16.0/24     KR       -    - (no location)     -        -    NEAS    AS         65536
//	192.0.2.0/24      FR       IDF  Paris            48.86     2.35   WEU     EU         65537
//	198.51.100.0/24   SG       -    Singapore         1.35   103.82   SEAS    AS         65538
//	203.0.113.0/24    AR       C    Buenos Aires    -34.60   -58.38   SSAM    SA         65539
//	10.0.0.0/8        MX       CMX  Mexico City      19.43   -99.13   ENAM    NA         65540
//	2001:db8::/32     NL       NH   Amsterdam        52.37     4.90   WEU     EU         65541
//	3fff:100::/24     US       WA   Seattle          47.61  -122.33   WNAM    NA         65542
//
// Everything else (e.g. 127.1.0.0/16, 172.16.0.0/12, ::1) is absent: Lookup fails. The
// 127.0.16.0/24 record (KR) has a country but no coordinates, for proximity fallbacks.
package geotest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdns/lbdns/pkg/region"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Layout selects the record layout of a city database.
type Layout int

const (
	// MaxMind is the GeoIP2/GeoLite2 City layout: country.iso_code, subdivisions[].iso_code,
	// city.names.en, continent.code, location.latitude/longitude (doubles). One IPv6 file
	// holds both families.
	MaxMind Layout = iota
	// IPLocationDB is the ip-location-db dbip-city-mmdb layout: country_code, state1 (a
	// name such as "California"), state2, city, postcode, latitude/longitude (floats),
	// timezone. As in the published files, a database holding only IPv4 records is an IPv4
	// database (IP version 4) and an IPv6 one has no IPv4 aliasing.
	IPLocationDB
)

func (l Layout) String() string {
	switch l {
	case MaxMind:
		return "MaxMind"
	case IPLocationDB:
		return "IPLocationDB"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Record is one network of a city database.
type Record struct {
	Prefix  netip.Prefix
	Country string // ISO 3166-1 alpha-2; "" leaves the country out
	// Subdivision is the ISO 3166-2 code without country prefix ("CA") for the MaxMind
	// layout, the state name ("California") for the IPLocationDB layout; "" leaves it out.
	Subdivision string
	City        string
	Lat, Lon    float64
	NoCoords    bool // leave the location out
}

// ASNRecord is one network of an ASN database (GeoLite2-ASN layout).
type ASNRecord struct {
	Prefix netip.Prefix
	ASN    uint32
	Org    string
}

// WriteCity writes a city database with recs in layout to path, failing the test on error.
func WriteCity(t testing.TB, path string, layout Layout, recs []Record) {
	t.Helper()
	if err := BuildCity(path, layout, recs); err != nil {
		t.Fatal(err)
	}
}

// WriteASN writes an ASN database with recs to path, failing the test on error.
func WriteASN(t testing.TB, path string, recs []ASNRecord) {
	t.Helper()
	if err := BuildASN(path, recs); err != nil {
		t.Fatal(err)
	}
}

// Default writes the standard test city database (see the package documentation) into a
// temporary directory of t and returns its path.
func Default(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "default-city.mmdb")
	WriteCity(t, path, MaxMind, DefaultRecords())
	return path
}

// DefaultASN writes the ASN database matching Default (see the package documentation) into
// a temporary directory of t and returns its path.
func DefaultASN(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "default-asn.mmdb")
	WriteASN(t, path, DefaultASNRecords())
	return path
}

// DefaultRecords returns the records of the Default database.
func DefaultRecords() []Record {
	p := netip.MustParsePrefix
	return []Record{
		{Prefix: p("127.0.0.0/24"), Country: "US", Subdivision: "CA", City: "Mountain View", Lat: 37.4, Lon: -122.1},
		{Prefix: p("127.0.1.0/24"), Country: "US", Subdivision: "NY", City: "New York", Lat: 40.71, Lon: -74.01},
		{Prefix: p("127.0.2.0/24"), Country: "GB", Subdivision: "ENG", City: "London", Lat: 51.51, Lon: -0.13},
		{Prefix: p("127.0.3.0/24"), Country: "DE", Subdivision: "HE", City: "Frankfurt", Lat: 50.11, Lon: 8.68},
		{Prefix: p("127.0.4.0/24"), Country: "JP", Subdivision: "13", City: "Tokyo", Lat: 35.68, Lon: 139.69},
		{Prefix: p("127.0.5.0/24"), Country: "BR", Subdivision: "SP", City: "São Paulo", Lat: -23.55, Lon: -46.63},
		{Prefix: p("127.0.6.0/24"), Country: "AU", Subdivision: "NSW", City: "Sydney", Lat: -33.87, Lon: 151.21},
		{Prefix: p("127.0.7.0/24"), Country: "ZA", Subdivision: "GP", City: "Johannesburg", Lat: -26.20, Lon: 28.05},
		{Prefix: p("127.0.8.0/24"), Country: "IN", Subdivision: "MH", City: "Mumbai", Lat: 19.08, Lon: 72.88},
		{Prefix: p("127.0.9.0/24"), Country: "CA", Subdivision: "QC", City: "Montréal", Lat: 45.50, Lon: -73.57},
		{Prefix: p("127.0.10.0/24"), Country: "CA", Subdivision: "BC", City: "Vancouver", Lat: 49.28, Lon: -123.12},
		{Prefix: p("127.0.11.0/24"), Country: "PL", Subdivision: "14", City: "Warsaw", Lat: 52.23, Lon: 21.01},
		{Prefix: p("127.0.12.0/24"), Country: "AE", Subdivision: "DU", City: "Dubai", Lat: 25.20, Lon: 55.27},
		{Prefix: p("127.0.13.0/24"), Country: "EG", Subdivision: "C", City: "Cairo", Lat: 30.04, Lon: 31.24},
		{Prefix: p("127.0.14.0/24"), Country: "US", Subdivision: "TX", City: "Dallas", Lat: 32.78, Lon: -96.80},
		{Prefix: p("127.0.15.0/24"), Country: "CO", Subdivision: "DC", City: "Bogotá", Lat: 4.71, Lon: -74.07},
		{Prefix: p("127.0.16.0/24"), Country: "KR", NoCoords: true},
		{Prefix: p("192.0.2.0/24"), Country: "FR", Subdivision: "IDF", City: "Paris", Lat: 48.86, Lon: 2.35},
		{Prefix: p("198.51.100.0/24"), Country: "SG", City: "Singapore", Lat: 1.35, Lon: 103.82},
		{Prefix: p("203.0.113.0/24"), Country: "AR", Subdivision: "C", City: "Buenos Aires", Lat: -34.60, Lon: -58.38},
		{Prefix: p("10.0.0.0/8"), Country: "MX", Subdivision: "CMX", City: "Mexico City", Lat: 19.43, Lon: -99.13},
		{Prefix: p("2001:db8::/32"), Country: "NL", Subdivision: "NH", City: "Amsterdam", Lat: 52.37, Lon: 4.90},
		{Prefix: p("3fff:100::/24"), Country: "US", Subdivision: "WA", City: "Seattle", Lat: 47.61, Lon: -122.33},
	}
}

// DefaultASNRecords returns the records of the DefaultASN database: the prefixes of
// DefaultRecords in order, numbered from the documentation ASNs 64496–64511, then
// 65536–65551 (RFC 5398), with organisation "TEST-AS<n>".
func DefaultASNRecords() []ASNRecord {
	recs := DefaultRecords()
	out := make([]ASNRecord, len(recs))
	for i, r := range recs {
		asn := uint32(64496 + i)
		if i >= 16 {
			asn = uint32(65536 + i - 16)
		}
		out[i] = ASNRecord{Prefix: r.Prefix, ASN: asn, Org: fmt.Sprintf("TEST-AS%d", asn)}
	}
	return out
}

// BuildCity writes a city database with recs in layout to path.
func BuildCity(path string, layout Layout, recs []Record) error {
	opts := mmdbwriter.Options{
		DatabaseType:            "GeoLite2-City",
		Description:             map[string]string{"en": "lbdns test city database"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              28,
	}
	if layout == IPLocationDB {
		opts.DatabaseType = "city ipv6"
		opts.Languages = nil
		opts.DisableIPv4Aliasing = true
		if allIPv4(recs) {
			opts.DatabaseType, opts.IPVersion = "city ipv4", 4
		}
	} else if layout != MaxMind {
		return fmt.Errorf("geotest: write %s: unknown layout %v", path, layout)
	}
	tree, err := mmdbwriter.New(opts)
	if err != nil {
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	for i, r := range recs {
		var v mmdbtype.Map
		if layout == MaxMind {
			v = maxMindRecord(r)
		} else {
			v = ipLocationRecord(r)
		}
		if err := insert(tree, r.Prefix, v); err != nil {
			return fmt.Errorf("geotest: write %s: record %d (%v): %w", path, i, r.Prefix, err)
		}
	}
	return write(path, tree)
}

// BuildASN writes an ASN database (GeoLite2-ASN layout: autonomous_system_number,
// autonomous_system_organization) with recs to path.
func BuildASN(path string, recs []ASNRecord) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-ASN",
		Description:             map[string]string{"en": "lbdns test ASN database"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	for i, r := range recs {
		v := mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(r.ASN),
			"autonomous_system_organization": mmdbtype.String(r.Org),
		}
		if err := insert(tree, r.Prefix, v); err != nil {
			return fmt.Errorf("geotest: write %s: record %d (%v): %w", path, i, r.Prefix, err)
		}
	}
	return write(path, tree)
}

func maxMindRecord(r Record) mmdbtype.Map {
	names := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }
	v := mmdbtype.Map{}
	if r.Country != "" {
		v["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(r.Country), "names": names(r.Country)}
		v["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String(r.Country), "names": names(r.Country)}
		if k := region.Continent(r.Country); k != "" {
			v["continent"] = mmdbtype.Map{"code": mmdbtype.String(k), "names": names(k)}
		}
	}
	if r.Subdivision != "" {
		v["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(r.Subdivision), "names": names(r.Subdivision)}}
	}
	if r.City != "" {
		v["city"] = mmdbtype.Map{"names": names(r.City)}
	}
	if !r.NoCoords {
		v["location"] = mmdbtype.Map{
			"latitude":        mmdbtype.Float64(r.Lat),
			"longitude":       mmdbtype.Float64(r.Lon),
			"accuracy_radius": mmdbtype.Uint16(20),
		}
	}
	return v
}

func ipLocationRecord(r Record) mmdbtype.Map {
	v := mmdbtype.Map{
		"country_code": mmdbtype.String(r.Country),
		"state1":       mmdbtype.String(r.Subdivision),
		"state2":       mmdbtype.String(""),
		"city":         mmdbtype.String(r.City),
		"postcode":     mmdbtype.String(""),
		"timezone":     mmdbtype.String(""),
	}
	if !r.NoCoords {
		v["latitude"] = mmdbtype.Float32(r.Lat)
		v["longitude"] = mmdbtype.Float32(r.Lon)
	}
	return v
}

func allIPv4(recs []Record) bool {
	for _, r := range recs {
		if !r.Prefix.Addr().Is4() {
			return false
		}
	}
	return true
}

func insert(tree *mmdbwriter.Tree, p netip.Prefix, v mmdbtype.DataType) error {
	if !p.IsValid() {
		return fmt.Errorf("invalid prefix")
	}
	p = p.Masked()
	n := &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	return tree.Insert(n, v)
}

func write(path string, tree *mmdbwriter.Tree) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	return nil
}
