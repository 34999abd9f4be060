package region

import "testing"

func TestValid(t *testing.T) {
	if len(countryIndex) != 250 { // 249 ISO 3166-1 codes + XK
		t.Errorf("country table has %d codes, want 250", len(countryIndex))
	}
	for _, c := range []string{"US", "CA", "GB", "XK", "AQ", "ZW"} {
		if !ValidCountry(c) {
			t.Errorf("ValidCountry(%q) = false", c)
		}
	}
	for _, c := range []string{"", "us", "UK", "EU", "ZZ", "USA"} {
		if ValidCountry(c) {
			t.Errorf("ValidCountry(%q) = true", c)
		}
	}
	for _, c := range []string{"WNAM", "ENAM", "EEU", "ME"} {
		if !ValidRegion(c) {
			t.Errorf("ValidRegion(%q) = false", c)
		}
	}
	for _, c := range []string{"", "wnam", "NAM", "EU"} {
		if ValidRegion(c) {
			t.Errorf("ValidRegion(%q) = true", c)
		}
	}
	good := [][2]string{{"US", "CA"}, {"US", "US-CA"}, {"US", "DC"}, {"US", "PR"}, {"CA", "QC"}, {"CA", "CA-BC"}}
	for _, g := range good {
		if !ValidSubdivision(g[0], g[1]) {
			t.Errorf("ValidSubdivision(%q, %q) = false", g[0], g[1])
		}
	}
	bad := [][2]string{{"US", "QC"}, {"US", "CA-CA"}, {"CA", "US-QC"}, {"MX", "JAL"}, {"US", ""}, {"US", "-CA"}, {"US", "ca"}}
	for _, b := range bad {
		if ValidSubdivision(b[0], b[1]) {
			t.Errorf("ValidSubdivision(%q, %q) = true", b[0], b[1])
		}
	}
}

func TestCountryNames(t *testing.T) {
	if len(countryNameIndex) != len(countryIndex) {
		t.Errorf("%d names for %d countries", len(countryNameIndex), len(countryIndex))
	}
	for _, cc := range Countries() {
		if CountryName(cc) == "" {
			t.Errorf("no name for %s", cc)
		}
	}
	if CountryName("GB") != "United Kingdom" || CountryName("ZZ") != "" {
		t.Error("CountryName")
	}
}
