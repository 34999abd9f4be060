package region

import (
	"slices"
	"strings"
	"testing"
)

// TestRegionMembers has one case per region: a few countries (and for North America,
// subdivisions) that must land in it.
func TestRegionMembers(t *testing.T) {
	cases := []struct {
		region string
		places []string // "CC" or "CC/SUB"
	}{
		{"EEU", []string{"PL", "RU", "UA", "CZ", "RO", "KZ", "UZ"}},
		{"ENAM", []string{"US/NY", "US/FL", "US/TX", "US/IL", "US", "CA/QC", "CA/ON", "CA/MB", "CA", "MX", "PR", "JM", "PA", "BM"}},
		{"ME", []string{"AE", "SA", "IL", "TR", "IR", "CY", "GE"}},
		{"NAF", []string{"EG", "MA", "DZ", "TN", "LY", "SD"}},
		{"NEAS", []string{"JP", "KR", "CN", "TW", "HK", "MN"}},
		{"NSAM", []string{"BR", "CO", "VE", "PE", "EC", "BO"}},
		{"OC", []string{"AU", "NZ", "FJ", "PG", "GU", "US/GU", "AQ"}},
		{"SAF", []string{"ZA", "NG", "KE", "ET", "AO", "SN", "MG"}},
		{"SAS", []string{"IN", "PK", "BD", "LK", "NP", "AF"}},
		{"SEAS", []string{"SG", "ID", "TH", "VN", "PH", "MY"}},
		{"SSAM", []string{"AR", "CL", "UY", "PY", "FK"}},
		{"WEU", []string{"GB", "DE", "FR", "NL", "ES", "IT", "SE", "IE", "GR", "RS"}},
		{"WNAM", []string{"US/CA", "US/WA", "US/CO", "US/AZ", "US/AK", "US/HI", "US-NV", "CA/BC", "CA/AB", "CA/YT"}},
	}
	if len(cases) != len(regionList) {
		t.Fatalf("%d cases for %d regions", len(cases), len(regionList))
	}
	for _, c := range cases {
		t.Run(c.region, func(t *testing.T) {
			for _, p := range c.places {
				cc, sub, _ := strings.Cut(p, "/")
				if strings.HasPrefix(p, "US-") {
					cc, sub = "US", p
				}
				if got := Of(cc, sub); got != c.region {
					t.Errorf("Of(%q, %q) = %q, want %q", cc, sub, got, c.region)
				}
			}
		})
	}
}

func TestEveryCountryHasRegionAndContinent(t *testing.T) {
	continents := []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA"}
	for _, cc := range Countries() {
		if r := Of(cc, ""); !ValidRegion(r) {
			t.Errorf("country %s: region %q", cc, r)
		}
		if k := Continent(cc); !slices.Contains(continents, k) {
			t.Errorf("country %s: continent %q", cc, k)
		}
	}
	for _, cc := range []string{"US", "CA"} {
		for _, s := range Subdivisions(cc) {
			if r := Of(cc, s); !ValidRegion(r) {
				t.Errorf("%s-%s: region %q", cc, s, r)
			}
		}
	}
	if n := len(Subdivisions("US")); n != 57 { // 50 states, DC, 6 territories
		t.Errorf("US has %d subdivisions, want 57", n)
	}
	if n := len(Subdivisions("CA")); n != 13 {
		t.Errorf("CA has %d subdivisions, want 13", n)
	}
	// No code appears twice in the M49 groups.
	seen := map[string]string{}
	for _, g := range m49 {
		for _, cc := range strings.Fields(g.codes) {
			if len(cc) != 2 {
				t.Errorf("group %s: bad code %q", g.name, cc)
			}
			if prev, dup := seen[cc]; dup {
				t.Errorf("%s in both %s and %s", cc, prev, g.name)
			}
			seen[cc] = g.name
		}
	}
}

func TestOfUnknown(t *testing.T) {
	for _, c := range [][2]string{{"", ""}, {"ZZ", ""}, {"EU", ""}, {"us", "CA"}} {
		if got := Of(c[0], c[1]); got != "" {
			t.Errorf("Of(%q, %q) = %q, want empty", c[0], c[1], got)
		}
	}
	// Unknown subdivisions fall back to the country.
	for _, c := range [][2]string{{"US", "XX"}, {"US", "CA-BC"}, {"CA", "??"}, {"GB", "ENG"}} {
		if got, want := Of(c[0], c[1]), Of(c[0], ""); got != want {
			t.Errorf("Of(%q, %q) = %q, want the country's %q", c[0], c[1], got, want)
		}
	}
}

func TestContinent(t *testing.T) {
	for cc, want := range map[string]string{
		"US": "NA", "MX": "NA", "JM": "NA", "BR": "SA", "AR": "SA", "GB": "EU", "RU": "EU",
		"CY": "EU", "TR": "AS", "JP": "AS", "IN": "AS", "EG": "AF", "ZA": "AF", "AU": "OC",
		"AQ": "AN", "GS": "AN", "XK": "EU", "ZZ": "",
	} {
		if got := Continent(cc); got != want {
			t.Errorf("Continent(%q) = %q, want %q", cc, got, want)
		}
	}
}

func TestSubdivisionCode(t *testing.T) {
	cases := []struct{ cc, name, want string }{
		{"US", "California", "CA"},
		{"US", "california", "CA"},
		{"US", "NEW YORK", "NY"},
		{"US", "New  York", "NY"},
		{"US", "District of Columbia", "DC"},
		{"US", "Washington, D.C.", "DC"},
		{"US", "Washington", "WA"},
		{"US", "North-Carolina", "NC"},
		{"US", "Puerto Rico", "PR"},
		{"US", "U.S. Virgin Islands", "VI"},
		{"US", "TX", "TX"},
		{"US", "US-TX", "TX"},
		{"CA", "Québec", "QC"},
		{"CA", "QUÉBEC", "QC"},
		{"CA", "Quebec", "QC"},
		{"CA", "British Columbia", "BC"},
		{"CA", "Newfoundland and Labrador", "NL"},
		{"CA", "Yukon Territory", "YT"},
		{"CA", "Prince Edward Island", "PE"},
		{"US", "Ontario", ""},
		{"CA", "California", ""},
		{"MX", "Jalisco", ""},
		{"US", "", ""},
		{"US", "Калифорния", ""},
		{"US", strings.Repeat("a", 200), ""},
	}
	for _, c := range cases {
		got, ok := SubdivisionCode(c.cc, c.name)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("SubdivisionCode(%q, %q) = %q, %v; want %q", c.cc, c.name, got, ok, c.want)
		}
	}
	// Every table name maps back to its code.
	for _, cc := range []string{"US", "CA"} {
		for _, s := range subdivisionsOf(cc) {
			if got, ok := SubdivisionCode(cc, s.name); !ok || got != s.code {
				t.Errorf("SubdivisionCode(%q, %q) = %q, %v", cc, s.name, got, ok)
			}
			if SubdivisionName(cc, s.code) != s.name {
				t.Errorf("SubdivisionName(%q, %q) = %q", cc, s.code, SubdivisionName(cc, s.code))
			}
		}
	}
}

func TestSubdivisionCodeAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		SubdivisionCode("CA", "Québec")
		SubdivisionCode("US", "New York")
		Of("US", "US-CA")
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func TestNewTable(t *testing.T) {
	tb, err := NewTable(map[string]string{"MX": "WNAM", "us-tx": "wnam", "US": "ENAM", "CA": "WNAM", "CA-QC": "ENAM"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ cc, sub, want string }{
		{"MX", "", "WNAM"},
		{"US", "TX", "WNAM"},
		{"US", "CA", "ENAM"}, // the US override moved California
		{"US", "", "ENAM"},
		{"CA", "BC", "WNAM"},
		{"CA", "ON", "WNAM"},
		{"CA", "QC", "ENAM"},
		{"GB", "", "WEU"},
	} {
		if got := tb.Of(c.cc, c.sub); got != c.want {
			t.Errorf("Of(%q, %q) = %q, want %q", c.cc, c.sub, got, c.want)
		}
	}
	// The default table is untouched.
	if Of("MX", "") != "ENAM" || Of("US", "CA") != "WNAM" {
		t.Error("NewTable changed the default table")
	}
	var nilTable *Table
	if nilTable.Of("US", "CA") != "WNAM" {
		t.Error("nil table is not the default")
	}

	_, err = NewTable(map[string]string{
		"ZZ": "WEU", "MX": "WEST", "US-XX": "ENAM", "GB-ENG": "WEU", "USA": "ENAM", "": "OC",
	})
	if err == nil {
		t.Fatal("bad overrides accepted")
	}
	msg := err.Error()
	for _, want := range []string{`"ZZ": not an ISO`, `"MX": "WEST" is not a region`, `"US-XX": US has no subdivision "XX"`, `"GB-ENG": only US and CA`, `"USA": want a country`, `"": want a country`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if lines := strings.Count(msg, "\n") + 1; lines != 6 {
		t.Errorf("%d errors reported, want 6:\n%s", lines, msg)
	}
}

func TestRegions(t *testing.T) {
	rs := Regions()
	if len(rs) != 13 {
		t.Fatalf("%d regions", len(rs))
	}
	countries, subs := 0, 0
	for _, r := range rs {
		if r.Name == "" || !ValidRegion(r.Code) {
			t.Errorf("bad region %+v", r)
		}
		countries += len(r.Countries)
		subs += len(r.Subdivisions)
		if slices.Contains(r.Countries, "US") || slices.Contains(r.Countries, "CA") {
			t.Errorf("%s lists US or CA as a country", r.Code)
		}
		if !slices.IsSorted(r.Countries) || !slices.IsSorted(r.Subdivisions) {
			t.Errorf("%s: lists not sorted", r.Code)
		}
	}
	if countries != len(countryIndex)-2 || subs != 70 {
		t.Errorf("%d countries and %d subdivisions listed", countries, subs)
	}
	wnam := rs[slices.IndexFunc(rs, func(r Region) bool { return r.Code == "WNAM" })]
	if !slices.Contains(wnam.Subdivisions, "US-CA") || !slices.Contains(wnam.Subdivisions, "CA-BC") {
		t.Errorf("WNAM subdivisions %v", wnam.Subdivisions)
	}
	tb, _ := NewTable(map[string]string{"MX": "WNAM"})
	for _, r := range tb.Regions() {
		if slices.Contains(r.Countries, "MX") != (r.Code == "WNAM") {
			t.Errorf("override not reflected in %s", r.Code)
		}
	}
}

func BenchmarkOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Of("US", "CA")
		Of("DE", "")
	}
}
