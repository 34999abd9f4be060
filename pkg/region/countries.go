package region

// country is one row of the country table.
type country struct {
	code      string // ISO 3166-1 alpha-2
	region    string // default region (for US and CA: when the subdivision is unknown)
	continent string // AF AN AS EU NA OC SA
}

// m49 lists the countries of each UN M49 sub-region (intermediate region for Africa and the
// Americas), with the region and continent assigned to the group. Exceptions follow in
// regionExceptions and continentExceptions. The mapping rule:
//
//	Northern, Western, Southern Europe → WEU     Eastern Europe → EEU
//	Western Asia (incl. Cyprus, Caucasus) → ME   Northern Africa → NAF
//	Sub-Saharan Africa (all four parts) → SAF     Southern Asia → SAS
//	South-eastern Asia → SEAS                     Eastern Asia → NEAS
//	Central Asia → EEU (post-Soviet networks reach the world through Russia and Europe)
//	Oceania (all four parts) → OC                 Antarctica → OC
//	Northern America: US, CA by state/province (see subdivisions.go), Bermuda, Greenland,
//	  Saint Pierre and Miquelon → ENAM
//	Central America → ENAM, Mexico → WNAM? see regionExceptions
//	Caribbean → ENAM
//	South America: the countries touching or north of the equator (CO VE GY SR GF EC) and
//	  Brazil, Peru, Bolivia → NSAM; AR CL UY PY, the Falklands, South Georgia, Bouvet → SSAM
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
	{"Western Asia", "ME", "AS", "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE"},
	{"Central Asia", "EEU", "AS", "KG KZ TJ TM UZ"},
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
	{"South America (south)", "SSAM", "SA", "AR BV CL FK GS PY UY"},
	{"Australia and New Zealand", "OC", "OC", "AU CC CX HM NF NZ"},
	{"Melanesia", "OC", "OC", "FJ NC PG SB VU"},
	{"Micronesia", "OC", "OC", "FM GU KI MH MP NR PW UM"},
	{"Polynesia", "OC", "OC", "AS CK NU PF PN TK TO TV WF WS"},
	{"Antarctica", "OC", "AN", "AQ"},
}

// countryIndex maps a country code to its row; built once from m49.
var countryIndex = buildCountries()

func buildCountries() map[string]country {
	m := make(map[string]country, 256)
	for _, g := range m49 {
		for i := 0; i+2 <= len(g.codes); i += 3 {
			cc := g.codes[i : i+2]
			m[cc] = country{code: cc, region: g.region, continent: g.continent}
		}
	}
	return m
}
