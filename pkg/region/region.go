// Package region owns the geography vocabulary of lbdns: the 13 Cloudflare load-balancing
// region codes, ISO 3166-1 alpha-2 country codes, the US and Canadian subdivisions (ISO
// 3166-2) that the region table splits between WNAM and ENAM, continents, US/CA subdivision
// names → codes, and the country/subdivision → region table with its config overrides
// (rulings 10 and 10b). It imports only the standard library.
//
// Codes are upper case ("US", "US-CA", "WNAM"); the Valid* functions do not fold case
// (NewTable does, because config loaders lower-case map keys). A subdivision is accepted
// with or without its country prefix: "CA" and "US-CA" both name California when the
// country is "US".
//
// # The default table
//
// Countries are assigned by UN M49 sub-region: Northern, Western and Southern Europe → WEU;
// Eastern Europe and Central Asia → EEU; Western Asia (with Cyprus and the Caucasus) and
// Iran → ME; the rest of Southern Asia → SAS; South-eastern Asia → SEAS; Eastern Asia →
// NEAS; Northern Africa → NAF; Sub-Saharan Africa → SAF; Central America (with Mexico),
// the Caribbean, Bermuda, Greenland, St Pierre and Miquelon → ENAM; the Southern Cone (AR CL
// PY UY) and the South Atlantic islands → SSAM; the rest of South America (with Brazil) →
// NSAM; Oceania and Antarctica → OC. US states and Canadian provinces are split at the
// Mountain/Central time-zone boundary: Pacific and Mountain (with AK, HI, YT, NT) → WNAM,
// Central and east → ENAM; Puerto Rico and the U.S. Virgin Islands → ENAM, the Pacific
// territories → OC; a US or CA address without a known subdivision → ENAM. The details are
// beside the data (m49 in countries.go, subdivision in subdivisions.go).
package region

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Region is one entry of the regions API: a region code, its name, the countries assigned to
// it (US and CA are listed only through their subdivisions) and the US/CA subdivisions
// assigned to it, as full ISO 3166-2 codes ("US-CA").
type Region struct {
	Code         string
	Name         string
	Countries    []string
	Subdivisions []string
}

// regionList holds the 13 Cloudflare region codes and their names (seed model §12), in the
// order of Cloudflare's documentation.
var regionList = []struct{ code, name string }{
	{"EEU", "Eastern Europe"},
	{"ENAM", "Eastern North America"},
	{"ME", "Middle East"},
	{"NAF", "Northern Africa"},
	{"NEAS", "Northeast Asia"},
	{"NSAM", "Northern South America"},
	{"OC", "Oceania"},
	{"SAF", "Southern Africa"},
	{"SAS", "Southern Asia"},
	{"SEAS", "Southeast Asia"},
	{"SSAM", "Southern South America"},
	{"WEU", "Western Europe"},
	{"WNAM", "Western North America"},
}

// ValidRegion reports whether code is one of the 13 Cloudflare region codes (e.g. "WNAM").
func ValidRegion(code string) bool {
	return Name(code) != ""
}

// Name returns the name of a region code ("WNAM" → "Western North America"), or "".
func Name(code string) string {
	for _, r := range regionList {
		if r.code == code {
			return r.name
		}
	}
	return ""
}

// Codes returns the 13 region codes in alphabetical order.
func Codes() []string {
	out := make([]string, len(regionList))
	for i, r := range regionList {
		out[i] = r.code
	}
	return out
}

// ValidCountry reports whether cc is an ISO 3166-1 alpha-2 country code, or "XK" (Kosovo, a
// user-assigned code that GeoIP databases and Cloudflare use).
func ValidCountry(cc string) bool {
	_, ok := countryIndex[cc]
	return ok
}

// Countries returns every country code ValidCountry accepts, sorted.
func Countries() []string {
	out := make([]string, 0, len(countryIndex))
	for cc := range countryIndex {
		out = append(out, cc)
	}
	slices.Sort(out)
	return out
}

// ValidSubdivision reports whether sub is a subdivision of country cc that the region table
// knows: the US states, DC and the territories (ISO 3166-2:US: AS GU MP PR UM VI), and the
// Canadian provinces and territories (ISO 3166-2:CA). sub may be given with or without the
// country prefix: ValidSubdivision("US", "CA") and ValidSubdivision("US", "US-CA") are both
// true; a prefix naming another country is false. Other countries have no subdivisions here.
func ValidSubdivision(cc, sub string) bool {
	_, ok := lookupSub(cc, sub)
	return ok
}

// Subdivisions returns the subdivision codes (without prefix, e.g. "CA") of cc, sorted; nil
// for countries other than US and CA.
func Subdivisions(cc string) []string {
	list := subdivisionsOf(cc)
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.code
	}
	slices.Sort(out)
	return out
}

// SubdivisionName returns the English name of a US or CA subdivision ("US", "CA" or "US-CA"
// → "California"), or "".
func SubdivisionName(cc, sub string) string {
	if s, ok := lookupSub(cc, sub); ok {
		return s.name
	}
	return ""
}

// trimSub removes an optional "CC-" prefix matching cc from sub.
func trimSub(cc, sub string) (string, bool) {
	if len(sub) > 3 && sub[2] == '-' {
		if sub[:2] != cc {
			return "", false
		}
		return sub[3:], true
	}
	return sub, !strings.Contains(sub, "-")
}

// Table maps countries and US/CA subdivisions to regions: the default table plus overrides.
// It is immutable and safe for concurrent use; a nil *Table is the default table.
type Table struct {
	country map[string]string            // cc → region
	sub     map[string]map[string]string // "US"/"CA" → subdivision code → region
}

var defaultTable = buildTable()

func buildTable() *Table {
	t := &Table{country: make(map[string]string, len(countryIndex)), sub: make(map[string]map[string]string, 2)}
	for cc, c := range countryIndex {
		t.country[cc] = c.region
	}
	for _, cc := range []string{"US", "CA"} {
		m := make(map[string]string)
		for _, s := range subdivisionsOf(cc) {
			m[s.code] = s.region
		}
		t.sub[cc] = m
	}
	return t
}

// Default returns the built-in table.
func Default() *Table { return defaultTable }

// Of returns the region of a country and, for the US and Canada, a subdivision ("CA" or
// "US-CA") in the default table: Of("US", "CA") = "WNAM", Of("GB", "") = "WEU". A US or CA
// address with an unknown or empty subdivision gets the country's region (ENAM). An unknown
// country gives "". It does not allocate.
func Of(country, subdivision string) string {
	return defaultTable.Of(country, subdivision)
}

// Of is the package-level Of for this table.
func (t *Table) Of(country, subdivision string) string {
	if t == nil {
		t = defaultTable
	}
	if subdivision != "" {
		if m := t.sub[country]; m != nil {
			if s, ok := trimSub(country, subdivision); ok {
				if r, ok := m[s]; ok {
					return r
				}
			}
		}
	}
	return t.country[country]
}

// NewTable returns the default table with overrides applied (ruling 10b; config
// geoip.regions). Keys are a country code ("MX") or a US/CA subdivision with its country
// prefix ("US-TX"); values are region codes. Keys and values are folded to upper case.
// A country override of US or CA moves all its subdivisions, except those overridden
// themselves. Every bad entry is reported, sorted by key, in one joined error.
func NewTable(overrides map[string]string) (*Table, error) {
	t := &Table{country: make(map[string]string, len(defaultTable.country)), sub: make(map[string]map[string]string, 2)}
	for cc, r := range defaultTable.country {
		t.country[cc] = r
	}
	for cc, m := range defaultTable.sub {
		t.sub[cc] = make(map[string]string, len(m))
		for s, r := range m {
			t.sub[cc][s] = r
		}
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	var subs [][2]string
	for _, k := range keys {
		key, val := strings.ToUpper(strings.TrimSpace(k)), strings.ToUpper(strings.TrimSpace(overrides[k]))
		if !ValidRegion(val) {
			errs = append(errs, fmt.Errorf("region override %q: %q is not a region code (one of %s)", k, overrides[k], strings.Join(Codes(), " ")))
			continue
		}
		switch {
		case len(key) == 2:
			if !ValidCountry(key) {
				errs = append(errs, fmt.Errorf("region override %q: not an ISO 3166-1 alpha-2 country code", k))
				continue
			}
			t.country[key] = val
			for s := range t.sub[key] {
				t.sub[key][s] = val
			}
		case len(key) > 3 && key[2] == '-':
			cc := key[:2]
			if t.sub[cc] == nil {
				errs = append(errs, fmt.Errorf("region override %q: only US and CA subdivisions can be mapped", k))
				continue
			}
			if _, ok := lookupSub(cc, key); !ok {
				errs = append(errs, fmt.Errorf("region override %q: %s has no subdivision %q", k, cc, key[3:]))
				continue
			}
			subs = append(subs, [2]string{key, val})
		default:
			errs = append(errs, fmt.Errorf("region override %q: want a country code (MX) or a US/CA subdivision (US-TX)", k))
		}
	}
	for _, s := range subs { // after the countries, so that US-TX wins over US
		t.sub[s[0][:2]][s[0][3:]] = s[1]
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Regions returns the 13 regions of the default table, for the regions API.
func Regions() []Region { return defaultTable.Regions() }

// Regions returns the 13 regions in code order with their countries and subdivisions
// (sorted). US and CA appear only as subdivisions. The slices are new on every call.
func (t *Table) Regions() []Region {
	if t == nil {
		t = defaultTable
	}
	out := make([]Region, len(regionList))
	at := make(map[string]int, len(regionList))
	for i, r := range regionList {
		out[i] = Region{Code: r.code, Name: r.name, Countries: []string{}, Subdivisions: []string{}}
		at[r.code] = i
	}
	for cc, r := range t.country {
		if t.sub[cc] != nil {
			continue
		}
		out[at[r]].Countries = append(out[at[r]].Countries, cc)
	}
	for cc, m := range t.sub {
		for s, r := range m {
			out[at[r]].Subdivisions = append(out[at[r]].Subdivisions, cc+"-"+s)
		}
	}
	for i := range out {
		slices.Sort(out[i].Countries)
		slices.Sort(out[i].Subdivisions)
	}
	return out
}
