package region

// regionList holds the 13 Cloudflare region codes and their names (seed model §12).
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
