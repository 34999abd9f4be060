package geo

import (
	"math"
	"strconv"
	"sync/atomic"

	"github.com/lbdns/lbdns/pkg/region"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// cityRecord is the part of a city record lbdns uses, with interned strings.
type cityRecord struct {
	country, sub, region, continent string
	lat, lon                        float64
	hasCoords                       bool
}

// city decodes (or finds in the cache) the city record of res.
// The region comes from table (fixed for the life of the file).
func (f *file) city(res maxminddb.Result, table *region.Table) (cityRecord, error) {
	off := res.Offset()
	if rec, ok := f.cities.get(off); ok {
		return rec, nil
	}
	var raw rawCity
	if err := res.Decode(&raw); err != nil {
		return cityRecord{}, err
	}
	rec := raw.record()
	rec.region = table.Of(rec.country, rec.sub)
	f.cities.put(off, rec)
	return rec, nil
}

// asn decodes (or finds in the cache) the ASN of res.
func (f *file) asn(res maxminddb.Result) (uint32, error) {
	off := res.Offset()
	if asn, ok := f.asns.get(off); ok {
		return asn, nil
	}
	var raw rawASN
	if err := res.Decode(&raw); err != nil {
		return 0, err
	}
	f.asns.put(off, raw.asn)
	return raw.asn, nil
}

// rawCity is a city record as found in either layout.
type rawCity struct {
	country, registered, continent string
	sub                            string // MaxMind subdivisions[0].iso_code
	state1                         string // ip-location-db state name
	lat, lon                       float64
	hasLat, hasLon                 bool
}

// UnmarshalMaxMindDB reads the fields of both layouts and skips everything else.
func (c *rawCity) UnmarshalMaxMindDB(d *mmdbdata.Decoder) error {
	return eachKey(d, func(key []byte) error {
		var err error
		switch string(key) {
		case "country": // MaxMind
			c.country, err = isoCode(d, "iso_code")
		case "registered_country":
			c.registered, err = isoCode(d, "iso_code")
		case "continent":
			c.continent, err = isoCode(d, "code")
		case "subdivisions":
			c.sub, err = firstISOCode(d)
		case "location":
			err = eachKey(d, func(k []byte) error {
				var err error
				switch string(k) {
				case "latitude":
					c.lat, c.hasLat, err = number(d)
				case "longitude":
					c.lon, c.hasLon, err = number(d)
				default:
					err = d.SkipValue()
				}
				return err
			})
		case "country_code": // ip-location-db
			c.country, err = str(d)
		case "state1":
			c.state1, err = str(d)
		case "latitude":
			c.lat, c.hasLat, err = number(d)
		case "longitude":
			c.lon, c.hasLon, err = number(d)
		default:
			err = d.SkipValue()
		}
		return err
	})
}

// record turns the raw fields into a cityRecord with canonical strings.
func (c *rawCity) record() cityRecord {
	cc := c.country
	if cc == "" {
		cc = c.registered
	}
	cc = internCountry(cc)
	rec := cityRecord{country: cc, continent: region.Continent(cc)}
	if rec.continent == "" && len(c.continent) == 2 {
		rec.continent = internCountry(c.continent) // keeps the database's code
	}
	switch {
	case cc == "US" || cc == "CA": // always an ISO code, from either layout
		for _, s := range []string{c.sub, c.state1} {
			if code, ok := region.SubdivisionCode(cc, s); ok {
				rec.sub = code
				break
			}
		}
	case c.sub != "":
		rec.sub = c.sub // other countries: MaxMind codes as they are; state names are not codes
	}
	if c.hasLat && c.hasLon && !(c.lat == 0 && c.lon == 0) &&
		math.Abs(c.lat) <= 90 && math.Abs(c.lon) <= 180 {
		rec.lat, rec.lon, rec.hasCoords = c.lat, c.lon, true
	}
	return rec
}

// rawASN is an ASN record.
type rawASN struct{ asn uint32 }

// UnmarshalMaxMindDB reads autonomous_system_number.
func (a *rawASN) UnmarshalMaxMindDB(d *mmdbdata.Decoder) error {
	return eachKey(d, func(key []byte) error {
		if string(key) != "autonomous_system_number" {
			return d.SkipValue()
		}
		kind, err := d.PeekKind()
		if err != nil {
			return err
		}
		switch kind {
		case mmdbdata.KindUint32:
			a.asn, err = d.ReadUint32()
		case mmdbdata.KindUint16:
			var v uint16
			v, err = d.ReadUint16()
			a.asn = uint32(v)
		case mmdbdata.KindUint64:
			var v uint64
			v, err = d.ReadUint64()
			if v <= math.MaxUint32 {
				a.asn = uint32(v)
			}
		default:
			err = d.SkipValue()
		}
		return err
	})
}

// eachKey calls fn for every key of the map at d; fn must consume the value.
func eachKey(d *mmdbdata.Decoder, fn func(key []byte) error) error {
	kind, err := d.PeekKind()
	if err != nil {
		return err
	}
	if kind != mmdbdata.KindMap {
		return d.SkipValue()
	}
	it, _, err := d.ReadMap()
	if err != nil {
		return err
	}
	for key, err := range it {
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

// isoCode reads the string field name of the map at d.
func isoCode(d *mmdbdata.Decoder, name string) (string, error) {
	var out string
	err := eachKey(d, func(k []byte) error {
		if string(k) != name {
			return d.SkipValue()
		}
		var err error
		out, err = str(d)
		return err
	})
	return out, err
}

// firstISOCode reads iso_code of the first map of the slice at d.
func firstISOCode(d *mmdbdata.Decoder) (string, error) {
	kind, err := d.PeekKind()
	if err != nil {
		return "", err
	}
	if kind != mmdbdata.KindSlice {
		return "", d.SkipValue()
	}
	it, _, err := d.ReadSlice()
	if err != nil {
		return "", err
	}
	var out string
	first := true
	for err := range it {
		if err != nil {
			return "", err
		}
		if first {
			out, err = isoCode(d, "iso_code")
			first = false
		} else {
			err = d.SkipValue()
		}
		if err != nil {
			return "", err
		}
	}
	return out, nil
}

// str reads a string; other kinds are skipped and give "".
func str(d *mmdbdata.Decoder) (string, error) {
	kind, err := d.PeekKind()
	if err != nil {
		return "", err
	}
	if kind != mmdbdata.KindString {
		return "", d.SkipValue()
	}
	return d.ReadString()
}

// number reads a float (32 or 64 bit), an integer or a numeric string.
func number(d *mmdbdata.Decoder) (float64, bool, error) {
	kind, err := d.PeekKind()
	if err != nil {
		return 0, false, err
	}
	switch kind {
	case mmdbdata.KindFloat64:
		v, err := d.ReadFloat64()
		return v, err == nil, err
	case mmdbdata.KindFloat32:
		v, err := d.ReadFloat32()
		// Round through the shortest decimal so 37.422f32 becomes 37.422, not 37.42200088.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return f, err == nil, err
	case mmdbdata.KindInt32:
		v, err := d.ReadInt32()
		return float64(v), err == nil, err
	case mmdbdata.KindString:
		s, err := d.ReadString()
		if err != nil {
			return 0, false, err
		}
		v, perr := strconv.ParseFloat(s, 64)
		return v, perr == nil && !math.IsNaN(v) && !math.IsInf(v, 0), nil
	}
	return 0, false, d.SkipValue()
}

// countryCodes holds one canonical string per known country code, so that cached records
// share them instead of keeping copies.
var countryCodes = func() map[string]string {
	m := make(map[string]string, 260)
	for _, cc := range region.Countries() {
		m[cc] = cc
	}
	for _, k := range []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA"} {
		m[k] = k
	}
	return m
}()

func internCountry(s string) string {
	if c, ok := countryCodes[s]; ok {
		return c
	}
	return s
}

// cache maps record offsets to decoded values: a two-way set-associative table of atomic
// pointers, lock-free for readers. A miss on a full pair replaces the entry in the first
// slot; a miss only costs a decode.
type cache[T any] struct {
	slots []atomic.Pointer[entry[T]]
	shift uint
}

type entry[T any] struct {
	off uintptr
	val T
}

// cacheSlots sizes the cache: twice the tree nodes, at least 1<<12 and at most 1<<17 slots
// (8 bytes each, plus the entries in use).
func cacheSlots(nodes uint) int {
	n := 1 << 12
	for n < 2*int(nodes) && n < 1<<17 {
		n <<= 1
	}
	return n
}

func (c *cache[T]) init(n int) {
	c.slots = make([]atomic.Pointer[entry[T]], n)
	c.shift = 64
	for n > 1 {
		n >>= 1
		c.shift--
	}
}

func (c *cache[T]) index(off uintptr) uint64 {
	return (uint64(off) * 0x9E3779B97F4A7C15) >> c.shift
}

func (c *cache[T]) get(off uintptr) (T, bool) {
	i := c.index(off)
	if e := c.slots[i].Load(); e != nil && e.off == off {
		return e.val, true
	}
	if e := c.slots[i^1].Load(); e != nil && e.off == off {
		return e.val, true
	}
	var zero T
	return zero, false
}

func (c *cache[T]) put(off uintptr, v T) {
	i := c.index(off)
	if c.slots[i].Load() != nil && c.slots[i^1].Load() == nil {
		i ^= 1
	}
	c.slots[i].Store(&entry[T]{off: off, val: v})
}
