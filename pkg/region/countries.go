package region

// country is one row of the country table.
type country struct {
	region    string // default region (for US and CA: when the subdivision is unknown)
	continent string // AF AN AS EU NA OC SA
}

// m49 assigns every ISO 3166-1 country (plus XK, Kosovo) to a region and a continent, one
// row per UN M49 sub-region (intermediate region for Africa and the Americas).
//
// The mapping rule (ruling 10b):
//
//	Northern, Western and Southern Europe   → WEU
//	Eastern Europe                          → EEU
//	Central Asia                            → EEU  (post-Soviet networks that reach the
//	                                                world through Russia and Europe)
//	Western Asia (incl. Cyprus, Caucasus)   → ME
//	Southern Asia                           → SAS  (except Iran → ME, see exceptions)
//	South-eastern Asia                      → SEAS
//	Eastern Asia                            → NEAS
//	Northern Africa                         → NAF
//	Sub-Saharan Africa (all four parts)     → SAF
//	Northern America                        → US and CA by state/province (subdivisions.go);
//	                                          Bermuda, Greenland, St Pierre & Miquelon → ENAM
//	Central America (incl. Mexico)          → ENAM (their transit and IXPs face Miami and
//	                                          Dallas; override MX → WNAM if that suits you)
//	Caribbean                               → ENAM
//	South America, Southern Cone (AR CL PY
//	  UY) and South Atlantic islands        → SSAM
//	South America, the rest (incl. Brazil)  → NSAM
//	Oceania (all four parts)                → OC
//	Antarctica (AQ)                         → OC (stations are reached via Christchurch
//	                                          and Hobart)
//
// Continents are the two-letter codes GeoIP databases and the rules field ip.src.continent
// use: the group's continent, with the exceptions in continentExceptions (GeoNames practice,
// which MaxMind follows).
var m49 = []struct {
	name      string
	region    string
	continent string
	codes     string
}{
	{"Northern Europe", "WEU", "EU", "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ"},
	{"Western Europe", "WEU", "EU", "AT BE CH DE FR LI LU MC NL"},
	{"Southern Europe", "WEU", "EU", "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK"},
	{"Eastern Europe", "EEU", "EU", "BG BY CZ HU MD PL RO RU SK UA"},
	{"Central Asia", "EEU", "AS", "KG KZ TJ TM UZ"},
	{"Western Asia", "ME", "AS", "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE"},
	{"Southern Asia", "SAS", "AS", "AF BD BT IN IR LK MV NP PK"},
	{"South-eastern Asia", "SEAS", "AS", "BN ID KH LA MM MY PH SG TH TL VN"},
	{"Eastern Asia", "NEAS", "AS", "CN HK JP KP KR MN MO TW"},
	{"Northern Africa", "NAF", "AF", "DZ EG EH LY MA SD TN"},
	{"Eastern Africa", "SAF", "AF", "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW"},
	{"Middle Africa", "SAF", "AF", "AO CD CF CG CM GA GQ ST TD"},
	{"Southern Africa", "SAF", "AF", "BW LS NA SZ ZA"},
	{"Western Africa", "SAF", "AF", "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG"},
	{"Northern America", "ENAM", "NA", "BM CA GL PM US"},
	{"Central America", "ENAM", "NA", "BZ CR GT HN MX NI PA SV"},
	{"Caribbean", "ENAM", "NA", "AG AI AW BB BL BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI"},
	{"South America (north)", "NSAM", "SA", "BO BR CO EC GF GY PE SR VE"},
	{"South America (Southern Cone)", "SSAM", "SA", "AR BV CL FK GS PY UY"},
	{"Australia and New Zealand", "OC", "OC", "AU CC CX HM NF NZ"},
	{"Melanesia", "OC", "OC", "FJ NC PG SB VU"},
	{"Micronesia", "OC", "OC", "FM GU KI MH MP NR PW UM"},
	{"Polynesia", "OC", "OC", "AS CK NU PF PN TK TO TV WF WS"},
	{"Antarctica", "OC", "AN", "AQ"},
}

// regionExceptions overrides the group region for single countries.
var regionExceptions = map[string]string{
	"IR": "ME", // M49 puts Iran in Southern Asia; it is part of the Middle East in common use
}

// continentExceptions overrides the group continent for single countries.
var continentExceptions = map[string]string{
	"CY": "EU",             // Western Asia in M49, Europe for GeoIP
	"IO": "AS",             // British Indian Ocean Territory
	"CC": "AS", "CX": "AS", // Cocos and Christmas Islands
	"TF": "AN", "HM": "AN", "BV": "AN", "GS": "AN", // sub-Antarctic islands
}

// countryIndex maps a country code to its row; built once from m49.
var countryIndex = buildCountries()

func buildCountries() map[string]country {
	m := make(map[string]country, 256)
	for _, g := range m49 {
		for i := 0; i+2 <= len(g.codes); i += 3 {
			cc := g.codes[i : i+2]
			c := country{region: g.region, continent: g.continent}
			if r, ok := regionExceptions[cc]; ok {
				c.region = r
			}
			if k, ok := continentExceptions[cc]; ok {
				c.continent = k
			}
			m[cc] = c
		}
	}
	return m
}

// Continent returns the two-letter continent code of country cc (AF, AN, AS, EU, NA, OC,
// SA), or "" for an unknown code.
func Continent(cc string) string {
	return countryIndex[cc].continent
}
