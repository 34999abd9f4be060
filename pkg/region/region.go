// Package region owns the geography vocabulary of lbdns: the 13 Cloudflare region codes,
// ISO 3166-1 alpha-2 country codes, the US and Canadian subdivisions (ISO 3166-2) that the
// region table splits between WNAM and ENAM, continents, and US/CA subdivision names → codes
// (ruling 10b). It imports only the standard library.
//
// Codes are upper case ("US", "US-CA", "WNAM"); the Valid* functions do not fold case.
package region

import "strings"

// ValidRegion reports whether code is one of the 13 Cloudflare region codes (e.g. "WNAM").
func ValidRegion(code string) bool {
	for _, r := range regionList {
		if r.code == code {
			return true
		}
	}
	return false
}

// ValidCountry reports whether cc is an ISO 3166-1 alpha-2 country code, or "XK" (Kosovo, a
// user-assigned code that GeoIP databases and Cloudflare use).
func ValidCountry(cc string) bool {
	_, ok := countryIndex[cc]
	return ok
}

// ValidSubdivision reports whether sub is a subdivision of country cc that the region table
// knows: the US states, DC and the outlying territories (ISO 3166-2:US), and the Canadian
// provinces and territories (ISO 3166-2:CA). sub may be given with or without the country
// prefix: ValidSubdivision("US", "CA") and ValidSubdivision("US", "US-CA") are both true; a
// prefix naming another country is false. Other countries have no subdivisions here.
func ValidSubdivision(cc, sub string) bool {
	_, ok := lookupSub(cc, sub)
	return ok
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
