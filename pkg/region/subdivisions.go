package region

// subdivision is one US or CA subdivision (ISO 3166-2 code without the country prefix).
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
