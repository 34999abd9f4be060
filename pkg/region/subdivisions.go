package region

import "strings"

// subdivision is one US or CA subdivision (ISO 3166-2 code without the country prefix) and
// its default region.
//
// The split between WNAM and ENAM follows the boundary between the Mountain and the Central
// time zones: states and provinces that lie mostly in the Pacific or Mountain zones (and
// Alaska, Hawaii, Yukon) are WNAM; those mostly in the Central, Eastern or Atlantic zones are
// ENAM. So Texas, the Dakotas, Nebraska, Kansas, Oklahoma, Manitoba and Saskatchewan are ENAM;
// Arizona, New Mexico, Colorado, Montana, Alberta and the Northwest Territories are WNAM.
// Nunavut (capital Iqaluit, Eastern time) is ENAM. Territories follow their geography:
// Puerto Rico and the U.S. Virgin Islands are ENAM; Guam, the Northern Mariana Islands,
// American Samoa and the Minor Outlying Islands are OC. A US or CA address whose subdivision
// is unknown gets the country's default, ENAM (where most of both populations live).
type subdivision struct {
	code   string
	name   string
	region string
}

var usSubdivisions = []subdivision{
	{"AL", "Alabama", "ENAM"}, {"AK", "Alaska", "WNAM"}, {"AZ", "Arizona", "WNAM"},
	{"AR", "Arkansas", "ENAM"}, {"CA", "California", "WNAM"}, {"CO", "Colorado", "WNAM"},
	{"CT", "Connecticut", "ENAM"}, {"DE", "Delaware", "ENAM"}, {"DC", "District of Columbia", "ENAM"},
	{"FL", "Florida", "ENAM"}, {"GA", "Georgia", "ENAM"}, {"HI", "Hawaii", "WNAM"},
	{"ID", "Idaho", "WNAM"}, {"IL", "Illinois", "ENAM"}, {"IN", "Indiana", "ENAM"},
	{"IA", "Iowa", "ENAM"}, {"KS", "Kansas", "ENAM"}, {"KY", "Kentucky", "ENAM"},
	{"LA", "Louisiana", "ENAM"}, {"ME", "Maine", "ENAM"}, {"MD", "Maryland", "ENAM"},
	{"MA", "Massachusetts", "ENAM"}, {"MI", "Michigan", "ENAM"}, {"MN", "Minnesota", "ENAM"},
	{"MS", "Mississippi", "ENAM"}, {"MO", "Missouri", "ENAM"}, {"MT", "Montana", "WNAM"},
	{"NE", "Nebraska", "ENAM"}, {"NV", "Nevada", "WNAM"}, {"NH", "New Hampshire", "ENAM"},
	{"NJ", "New Jersey", "ENAM"}, {"NM", "New Mexico", "WNAM"}, {"NY", "New York", "ENAM"},
	{"NC", "North Carolina", "ENAM"}, {"ND", "North Dakota", "ENAM"}, {"OH", "Ohio", "ENAM"},
	{"OK", "Oklahoma", "ENAM"}, {"OR", "Oregon", "WNAM"}, {"PA", "Pennsylvania", "ENAM"},
	{"RI", "Rhode Island", "ENAM"}, {"SC", "South Carolina", "ENAM"}, {"SD", "South Dakota", "ENAM"},
	{"TN", "Tennessee", "ENAM"}, {"TX", "Texas", "ENAM"}, {"UT", "Utah", "WNAM"},
	{"VT", "Vermont", "ENAM"}, {"VA", "Virginia", "ENAM"}, {"WA", "Washington", "WNAM"},
	{"WV", "West Virginia", "ENAM"}, {"WI", "Wisconsin", "ENAM"}, {"WY", "Wyoming", "WNAM"},
	{"AS", "American Samoa", "OC"}, {"GU", "Guam", "OC"}, {"MP", "Northern Mariana Islands", "OC"},
	{"PR", "Puerto Rico", "ENAM"}, {"UM", "United States Minor Outlying Islands", "OC"},
	{"VI", "U.S. Virgin Islands", "ENAM"},
}

var caSubdivisions = []subdivision{
	{"AB", "Alberta", "WNAM"}, {"BC", "British Columbia", "WNAM"}, {"MB", "Manitoba", "ENAM"},
	{"NB", "New Brunswick", "ENAM"}, {"NL", "Newfoundland and Labrador", "ENAM"},
	{"NS", "Nova Scotia", "ENAM"}, {"NT", "Northwest Territories", "WNAM"}, {"NU", "Nunavut", "ENAM"},
	{"ON", "Ontario", "ENAM"}, {"PE", "Prince Edward Island", "ENAM"}, {"QC", "Quebec", "ENAM"},
	{"SK", "Saskatchewan", "ENAM"}, {"YT", "Yukon", "WNAM"},
}

// subdivisionAliases are other names GeoIP databases use, normalised like normName.
var subdivisionAliases = map[string][]struct{ alias, code string }{
	"US": {
		{"washington dc", "DC"}, {"washington d c", "DC"},
		{"virgin islands", "VI"}, {"united states virgin islands", "VI"}, {"us virgin islands", "VI"},
		{"us minor outlying islands", "UM"}, {"united states minor outlying islands", "UM"},
		{"commonwealth of the northern mariana islands", "MP"},
	},
	"CA": {
		{"newfoundland", "NL"}, {"labrador", "NL"}, {"yukon territory", "YT"},
		{"pei", "PE"}, {"northwest territory", "NT"},
	},
}

// nameIndex maps a country and a normalised subdivision name to its code.
var nameIndex = buildNames()

func buildNames() map[string]map[string]string {
	idx := make(map[string]map[string]string, 2)
	for _, cc := range []string{"US", "CA"} {
		m := make(map[string]string, 80)
		for _, s := range subdivisionsOf(cc) {
			var buf [maxName]byte
			n, ok := normName(buf[:0], s.name)
			if !ok {
				panic("region: subdivision name does not normalise: " + s.name) // table bug
			}
			m[string(n)] = s.code
		}
		for _, a := range subdivisionAliases[cc] {
			m[a.alias] = a.code
		}
		idx[cc] = m
	}
	return idx
}

// maxName bounds the length of a normalised subdivision name.
const maxName = 64

// SubdivisionCode maps a US or Canadian state, district, territory or province name to its
// ISO 3166-2 code without the country prefix: SubdivisionCode("US", "California") = "CA",
// SubdivisionCode("CA", "Québec") = "QC". Matching ignores case, Latin accents, dots, commas
// and apostrophes, and treats runs of spaces, hyphens and underscores as one space; a few
// other spellings are known ("Washington, D.C.", "Newfoundland", "Yukon Territory"). A code
// ("CA", "US-CA") is accepted as its own name. It does not allocate.
func SubdivisionCode(cc, name string) (string, bool) {
	if s, ok := lookupSub(cc, name); ok {
		return s.code, true
	}
	m := nameIndex[cc]
	if m == nil {
		return "", false
	}
	var buf [maxName]byte
	n, ok := normName(buf[:0], name)
	if !ok {
		return "", false
	}
	code, ok := m[string(n)]
	return code, ok
}

// normName appends the normalised form of name to dst: ASCII lower case, Latin accents
// removed, '.', ',' and apostrophes dropped, runs of ' ', '-', '_' turned into one space,
// leading and trailing spaces trimmed. It reports false for other characters or when the
// result would exceed maxName bytes.
func normName(dst []byte, name string) ([]byte, bool) {
	space := false
	for _, r := range name {
		var c byte
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			c = byte(r)
		case r >= 'A' && r <= 'Z':
			c = byte(r) + 'a' - 'A'
		case r == ' ' || r == '-' || r == '_' || r == '\t':
			space = len(dst) > 0
			continue
		case r == '.' || r == ',' || r == '\'' || r == '\u2019':
			continue
		default:
			i := strings.IndexRune(accented, r)
			if i < 0 {
				return dst, false
			}
			c = plain[i/2] // every accented rune here is two bytes in UTF-8
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		if len(dst) >= maxName {
			return dst, false
		}
		dst = append(dst, c)
	}
	return dst, true
}

// accented and plain pair Latin letters with accents (lower and upper case) with their base
// letter, rune by rune.
const (
	accented = "àáâãäåèéêëìíîïòóôõöùúûüýÿçñÀÁÂÃÄÅÈÉÊËÌÍÎÏÒÓÔÕÖÙÚÛÜÝŸÇÑ"
	plain    = "aaaaaaeeeeiiiiooooouuuuyycnaaaaaaeeeeiiiiooooouuuuyycn"
)

func subdivisionsOf(cc string) []subdivision {
	switch cc {
	case "US":
		return usSubdivisions
	case "CA":
		return caSubdivisions
	}
	return nil
}

// lookupSub finds sub ("CA" or "US-CA") among the subdivisions of cc.
func lookupSub(cc, sub string) (*subdivision, bool) {
	list := subdivisionsOf(cc)
	if list == nil {
		return nil, false
	}
	s, ok := trimSub(cc, sub)
	if !ok {
		return nil, false
	}
	for i := range list {
		if list[i].code == s {
			return &list[i], true
		}
	}
	return nil, false
}
