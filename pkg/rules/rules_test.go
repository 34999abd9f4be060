package rules

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// base is the query most eval cases run against.
func base() Fields {
	return Fields{
		LBName:      "lb.example.com",
		LBRegion:    "ENAM",
		Src:         netip.MustParseAddr("198.51.100.7"),
		ASN:         13335,
		Country:     "US",
		Continent:   "NA",
		Subdivision: "CA",
		QName:       "www.example.com.",
		QType:       1,
		QU:          true,
		ECS:         true,
		ECSAddr:     netip.MustParseAddr("198.51.100.0"),
	}
}

func TestEval(t *testing.T) {
	v6 := func(f *Fields) { f.Src = netip.MustParseAddr("2001:db8::42") }
	noECS := func(f *Fields) { f.ECS, f.ECSAddr = false, netip.Addr{} }
	noSrc := func(f *Fields) { f.Src = netip.Addr{} }
	mixed := func(f *Fields) { f.QName, f.LBName = "WwW.Example.COM.", "LB.example.com" }
	tests := []struct {
		cond string
		mod  func(*Fields)
		want bool
	}{
		// empty condition
		{"", nil, true},
		{"  \n\t", nil, true},

		// string fields, every comparison operator
		{`cf.load_balancer.name eq "lb.example.com"`, nil, true},
		{`cf.load_balancer.name == "other.example.com"`, nil, false},
		{`cf.load_balancer.region ne "WEU"`, nil, true},
		{`cf.load_balancer.region != "ENAM"`, nil, false},
		{`ip.src.country lt "UT"`, nil, true},
		{`ip.src.country < "US"`, nil, false},
		{`ip.src.country le "US"`, nil, true},
		{`ip.src.country <= "UR"`, nil, false},
		{`ip.src.country gt "UR"`, nil, true},
		{`ip.src.country > "US"`, nil, false},
		{`ip.src.country ge "US"`, nil, true},
		{`ip.src.country >= "UT"`, nil, false},
		{`ip.src.continent eq "NA"`, nil, true},
		{`ip.src.continent contains "A"`, nil, true},
		{`ip.src.continent contains "a"`, nil, false},
		{`dns.qry.name contains "example"`, nil, true},
		{`dns.qry.name matches "^www\.example\.com\.$"`, nil, true},
		{`dns.qry.name ~ "^api\."`, nil, false},
		{`dns.qry.name matches r"^w{3}\."`, nil, true},
		{`dns.qry.name matches r#"^"#`, nil, true},
		{`ip.src.country in {"US" "CA"}`, nil, true},
		{`ip.src.country in {"DE" "FR"}`, nil, false},
		{`cf.load_balancer.region in {"ENAM" "WNAM"}`, nil, true},

		// subdivision is the full ISO 3166-2 code
		{`ip.src.subdivision_1_iso_code eq "US-CA"`, nil, true},
		{`ip.src.subdivision_1_iso_code eq "CA"`, nil, false},
		{`ip.src.subdivision_1_iso_code eq "US-C"`, nil, false},
		{`ip.src.subdivision_1_iso_code eq "USXCA"`, nil, false},
		{`ip.src.subdivision_1_iso_code ne "US-CA"`, nil, false},
		{`ip.src.subdivision_1_iso_code ne "US-NY"`, nil, true},
		{`ip.src.subdivision_1_iso_code lt "US-D"`, nil, true},
		{`ip.src.subdivision_1_iso_code in {"US-CA" "US-NY"}`, nil, true},
		{`ip.src.subdivision_1_iso_code contains "-C"`, nil, true},
		{`ip.src.subdivision_1_iso_code eq "GB-ENG"`, func(f *Fields) { f.Country, f.Subdivision = "GB", "GB-ENG" }, true},
		{`ip.src.subdivision_1_iso_code eq ""`, func(f *Fields) { f.Subdivision = "" }, true},
		{`len(ip.src.subdivision_1_iso_code) eq 5`, nil, true},
		{`lower(ip.src.subdivision_1_iso_code) eq "us-ca"`, nil, true},

		// dns.qry.name conventions: lowercase value with a trailing dot
		{`dns.qry.name eq "www.example.com."`, nil, true},
		{`dns.qry.name eq "www.example.com"`, nil, true},
		{`dns.qry.name eq "WWW.Example.COM"`, nil, true},
		{`dns.qry.name ne "www.example.com"`, nil, false},
		{`dns.qry.name in {"api.example.com" "www.example.com"}`, nil, true},
		{`ends_with(dns.qry.name, ".example.com")`, nil, true},
		{`ends_with(dns.qry.name, ".EXAMPLE.com.")`, nil, true},
		{`ends_with(dns.qry.name, ".example.net")`, nil, false},
		{`starts_with(dns.qry.name, "WWW.")`, nil, true},
		{`starts_with(dns.qry.name, "api.")`, nil, false},
		{`dns.qry.name.len eq 16`, nil, true},
		{`len(dns.qry.name) eq 16`, nil, true},
		{`dns.qry.name eq ""`, nil, false},
		{`upper(dns.qry.name) eq "WWW.EXAMPLE.COM"`, nil, true},
		{`upper(dns.qry.name) eq "www.example.com"`, nil, false},
		{`cf.load_balancer.name eq "LB.example.com."`, nil, true},
		{`ends_with(cf.load_balancer.name, "example.com.")`, nil, true},
		// The conventions are the caller's: a mixed-case value is compared as given.
		{`dns.qry.name eq "www.example.com."`, mixed, false},
		{`lower(dns.qry.name) eq "www.example.com."`, mixed, true},
		{`lower(cf.load_balancer.name) eq "lb.example.com"`, mixed, true},

		// functions
		{`lower(ip.src.country) eq "us"`, nil, true},
		{`lower(ip.src.country) eq "US"`, nil, false},
		{`upper(lower(ip.src.country)) eq "US"`, nil, true},
		{`lower(upper(dns.qry.name)) eq "www.example.com."`, nil, true},
		{`upper(ip.src.continent) in {"NA" "SA"}`, nil, true},
		{`lower(cf.load_balancer.region) contains "nam"`, nil, true},
		{`lower(cf.load_balancer.region) matches "^e"`, nil, true},
		{`upper(dns.qry.name) lt "X"`, nil, true},
		{`len(ip.src.country) eq 2`, nil, true},
		{`len(lower(cf.load_balancer.region)) in {4..6}`, nil, true},
		{`len(cf.load_balancer.name) gt 20`, nil, false},
		{`starts_with(lower(cf.load_balancer.region), "en")`, nil, true},
		{`ends_with(upper(ip.src.country), "S")`, nil, true},
		{`not starts_with(ip.src.country, "U")`, nil, false},
		{`lower(ip.src.country) ne "us"`, nil, false},
		{`lower(ip.src.country) le "us"`, nil, true},
		{`lower(ip.src.country) gt "ua"`, nil, true},
		{`lower(ip.src.country) ge "uz"`, nil, false},
		{`lower(ip.src.country) lt "uz"`, nil, true},
		{`ends_with(lower(ip.src.country), "s")`, nil, true},
		{`lower(ip.src.country) eq "\x75\x73"`, nil, true},
		{`ip.src.country eq "\x55\x53"`, nil, true},
		{`ip.src.country eq "\x55\x5e"`, nil, false},
		{`ip.src.country eq "\xc3\xa9"`, func(f *Fields) { f.Country = "é" }, true},
		{`len(cf.load_balancer.region) eq 4 and len(ip.src.continent) eq 2`, nil, true},
		{`len(ip.src.subdivision_1_iso_code) eq 6`, func(f *Fields) { f.Country, f.Subdivision = "GB", "GB-ENG" }, true},

		// integers
		{`dns.qry.type eq 1`, nil, true},
		{`dns.qry.type ne 28`, nil, true},
		{`dns.qry.type lt 2`, nil, true},
		{`dns.qry.type le 0`, nil, false},
		{`dns.qry.type gt 0`, nil, true},
		{`dns.qry.type >= 28`, nil, false},
		{`dns.qry.type in {1 28}`, nil, true},
		{`dns.qry.type in {2..27 29..65535}`, nil, false},
		{`dns.qry.type in {0..1}`, nil, true},
		{`ip.src.asnum eq 13335`, nil, true},
		{`ip.src.asnum in {64512..65534 13335}`, nil, true},
		{`ip.src.asnum in {-5..0}`, nil, false},
		{`ip.src.asnum in {-5..0}`, func(f *Fields) { f.ASN = 0 }, true},
		{`ip.src.asnum gt -1`, nil, true},
		{`dns.qry.type in {1 1 1..1}`, nil, true},

		// IP addresses
		{`ip.src eq 198.51.100.7`, nil, true},
		{`ip.src == 198.51.100.8`, nil, false},
		{`ip.src ne 198.51.100.8`, nil, true},
		{`ip.src in {198.51.100.0/24}`, nil, true},
		{`ip.src in {198.51.100.0/30 203.0.113.1}`, nil, false},
		{`ip.src in {198.51.100.1..198.51.100.7}`, nil, true},
		{`ip.src in {198.51.100.8..198.51.100.9}`, nil, false},
		{`ip.src in {2001:db8::/32}`, nil, false},
		{`ip.src in {2001:db8::/32}`, v6, true},
		{`ip.src in {198.51.100.0/24}`, v6, false},
		{`ip.src eq 2001:db8::42`, v6, true},
		{`ip.src in {2001:db8::1..2001:db8::ff}`, v6, true},
		{`ip.src in {::/0}`, v6, true},
		{`ip.src in {0.0.0.0/0}`, nil, true},
		{`ip.src in {0.0.0.0/1}`, nil, false},
		{`ip.src eq ::ffff:198.51.100.7`, nil, true},
		{`ip.src eq 198.51.100.7`, func(f *Fields) { f.Src = netip.MustParseAddr("::ffff:198.51.100.7") }, true},
		{`ip.src in {::ffff:198.51.100.0/120}`, nil, true},
		{`ip.src in {198.51.100.7/24}`, nil, true},
		// ip.src missing: every comparison is false, ne included
		{`ip.src eq 198.51.100.7`, noSrc, false},
		{`ip.src ne 198.51.100.7`, noSrc, false},
		{`not ip.src in {0.0.0.0/0 ::/0}`, noSrc, true},

		// Booleans
		{`dns.qry.qu`, nil, true},
		{`not dns.qry.qu`, nil, false},
		{`dns.rr.opt.client`, nil, true},
		{`dns.rr.opt.client`, noECS, false},
		{`!dns.rr.opt.client`, noECS, true},

		// ECS address as a String
		{`dns.rr.opt.client.addr eq "198.51.100.0"`, nil, true},
		{`dns.rr.opt.client.addr eq "198.51.100.1"`, nil, false},
		{`dns.rr.opt.client.addr ne "198.51.100.1"`, nil, true},
		{`dns.rr.opt.client.addr ne "198.51.100.0"`, nil, false},
		{`dns.rr.opt.client.addr eq "198.051.100.0"`, nil, false},
		{`dns.rr.opt.client.addr ne "not an address"`, nil, true},
		{`dns.rr.opt.client.addr in {"192.0.2.0" "198.51.100.0"}`, nil, true},
		{`dns.rr.opt.client.addr in {"192.0.2.0"}`, nil, false},
		{`dns.rr.opt.client.addr eq "2001:db8::"`, func(f *Fields) { f.ECSAddr = netip.MustParseAddr("2001:db8::") }, true},
		{`dns.rr.opt.client.addr eq "2001:DB8::"`, func(f *Fields) { f.ECSAddr = netip.MustParseAddr("2001:db8::") }, false},
		{`upper(dns.rr.opt.client.addr) eq "2001:DB8::"`, func(f *Fields) { f.ECSAddr = netip.MustParseAddr("2001:db8::") }, true},
		{`starts_with(dns.rr.opt.client.addr, "198.51.")`, nil, true},
		{`dns.rr.opt.client.addr contains ".100."`, nil, true},
		{`dns.rr.opt.client.addr matches "^198\.51\."`, nil, true},
		{`dns.rr.opt.client.addr lt "2"`, nil, true},
		{`len(dns.rr.opt.client.addr) eq 12`, nil, true},
		// ECS address missing
		{`dns.rr.opt.client.addr eq "198.51.100.0"`, noECS, false},
		{`dns.rr.opt.client.addr ne "198.51.100.0"`, noECS, false},
		{`dns.rr.opt.client.addr contains ""`, noECS, false},
		{`len(dns.rr.opt.client.addr) ge 0`, noECS, false},
		{`not dns.rr.opt.client.addr eq "198.51.100.0"`, noECS, true},

		// logical operators and precedence (not > and > xor > or)
		{`dns.qry.qu and dns.rr.opt.client`, nil, true},
		{`dns.qry.qu && not dns.rr.opt.client`, nil, false},
		{`not dns.qry.qu or dns.rr.opt.client`, nil, true},
		{`not dns.qry.qu || not dns.rr.opt.client`, nil, false},
		{`dns.qry.qu xor dns.rr.opt.client`, nil, false},
		{`dns.qry.qu ^^ not dns.rr.opt.client`, nil, true},
		{`not not dns.qry.qu`, nil, true},
		{`! ! ! dns.qry.qu`, nil, false},
		// and binds tighter than or: (false and false) or true
		{`dns.qry.type eq 2 and dns.qry.type eq 3 or dns.qry.qu`, nil, true},
		// and binds tighter than or: false or (true and false)
		{`dns.qry.type eq 2 or dns.qry.qu and dns.qry.type eq 3`, nil, false},
		// parentheses override: (false or true) and false
		{`(dns.qry.type eq 2 or dns.qry.qu) and dns.qry.type eq 3`, nil, false},
		// xor binds tighter than or: true or (true xor true)
		{`dns.qry.qu or dns.qry.qu xor dns.qry.qu`, nil, true},
		// xor looser than and: (true and true) xor true = false
		{`dns.qry.qu and dns.qry.qu xor dns.qry.qu`, nil, false},
		// and inside xor: true xor (true and false) = true
		{`dns.qry.qu xor dns.qry.qu and dns.qry.type eq 3`, nil, true},
		// not applies to the comparison only: (not false) and true
		{`not dns.qry.type eq 3 and dns.qry.qu`, nil, true},
		{`not (dns.qry.type eq 1 and dns.qry.qu)`, nil, false},
		{`not dns.qry.type eq 1 or dns.qry.qu`, nil, true},
		// xor is left-associative: (true xor true) xor true = true
		{`dns.qry.qu xor dns.qry.qu xor dns.qry.qu`, nil, true},
		{`((((dns.qry.qu))))`, nil, true},
		{`(ip.src.country eq "US" or ip.src.country eq "CA") and not ip.src in {10.0.0.0/8}`, nil, true},
		{"ip.src.country eq \"US\"\nand dns.qry.type in {1 28}", nil, true},
		{`ip.src.country=="US"&&dns.qry.type==1`, nil, true},
		{`ip.src.country eq"US"and(dns.qry.type eq 1)`, nil, true},

		// string escapes
		{`ip.src.country eq "\x55S"`, nil, true},
		{`ip.src.country ne "U\"S"`, nil, true},
		{`ip.src.country eq "U\\S"`, func(f *Fields) { f.Country = `U\S` }, true},
		{`ip.src.country eq r"U\S"`, func(f *Fields) { f.Country = `U\S` }, true},
		{`ip.src.country eq r#"U"S"#`, func(f *Fields) { f.Country = `U"S` }, true},
		{`ip.src.country matches "^U\"S$"`, func(f *Fields) { f.Country = `U"S` }, true},
		{`ip.src.country matches "^U\\S$"`, func(f *Fields) { f.Country = `U\S` }, true},
		{`ip.src.country eq "日本"`, func(f *Fields) { f.Country = "日本" }, true},
	}
	for _, tt := range tests {
		e, err := Compile(tt.cond)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.cond, err)
			continue
		}
		f := base()
		if tt.mod != nil {
			tt.mod(&f)
		}
		if got := e.Eval(&f); got != tt.want {
			t.Errorf("Compile(%q).Eval = %v, want %v (compiled as %s)", tt.cond, got, tt.want, e)
		}
		// The canonical form must compile to an expression that agrees.
		e2, err := Compile(e.String())
		if err != nil {
			t.Errorf("Compile(%q) of String of %q: %v", e.String(), tt.cond, err)
			continue
		}
		if got := e2.Eval(&f); got != tt.want {
			t.Errorf("String form %q of %q evaluates to %v, want %v", e.String(), tt.cond, got, tt.want)
		}
		if e2.String() != e.String() {
			t.Errorf("String is not stable: %q then %q", e.String(), e2.String())
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct{ cond, want string }{
		{"", ""},
		{`ip.src.country == "US" && dns.qry.type == 1`, `ip.src.country eq "US" and dns.qry.type eq 1`},
		{`(dns.qry.qu || dns.rr.opt.client) && dns.qry.type != 1`, `(dns.qry.qu or dns.rr.opt.client) and dns.qry.type ne 1`},
		{`dns.qry.qu || (dns.rr.opt.client && dns.qry.type != 1)`, `dns.qry.qu or dns.rr.opt.client and dns.qry.type ne 1`},
		{`!(dns.qry.qu ^^ dns.rr.opt.client)`, `not (dns.qry.qu xor dns.rr.opt.client)`},
		{`(dns.qry.qu or dns.qry.qu) xor dns.qry.qu`, `(dns.qry.qu or dns.qry.qu) xor dns.qry.qu`},
		{`dns.qry.qu and (dns.qry.qu and dns.qry.qu)`, `dns.qry.qu and dns.qry.qu and dns.qry.qu`},
		{`ip.src in {10.0.0.0/8   192.0.2.1 ::ffff:192.0.2.2 2001:DB8::/32}`, `ip.src in {10.0.0.0/8 192.0.2.1 192.0.2.2 2001:db8::/32}`},
		{`dns.qry.type in {28 1..5}`, `dns.qry.type in {28 1..5}`},
		{`dns.qry.name ~ "a\.b"`, `dns.qry.name matches r"a\.b"`},
		{`dns.qry.name ~ "\"#"`, `dns.qry.name matches r##""#"##`},
		{`ip.src.country eq "a\"b\\c\x01"`, `ip.src.country eq "a\"b\\c\x01"`},
		{`ends_with(lower(dns.qry.name), "Example.com")`, `ends_with(lower(dns.qry.name), "Example.com.")`},
		{`len(upper(cf.load_balancer.name)) >= 3`, `len(upper(cf.load_balancer.name)) ge 3`},
		{`dns.qry.name in {"A.example" "b.example."}`, `dns.qry.name in {"a.example." "b.example."}`},
	}
	for _, tt := range tests {
		e, err := Compile(tt.cond)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.cond, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Compile(%q).String() = %q, want %q", tt.cond, got, tt.want)
		}
	}
}

func TestUses(t *testing.T) {
	tests := []struct {
		cond string
		want Uses
	}{
		{"", 0},
		{`cf.load_balancer.name eq "x"`, UsesLBName},
		{`cf.load_balancer.region eq "x"`, UsesLBRegion},
		{`ip.src eq 192.0.2.1`, UsesSrc},
		{`ip.src.asnum eq 1`, UsesASN},
		{`ip.src.country eq "US"`, UsesGeo},
		{`ip.src.continent eq "EU"`, UsesGeo},
		{`ip.src.subdivision_1_iso_code eq "US-CA"`, UsesGeo},
		{`dns.qry.name eq "x"`, UsesQName},
		{`dns.qry.name.len eq 1`, UsesQName},
		{`dns.qry.type eq 1`, UsesQType},
		{`dns.qry.qu`, UsesQU},
		{`dns.rr.opt.client`, UsesECS},
		{`len(dns.rr.opt.client.addr) eq 1`, UsesECS},
		{`not ip.src.asnum eq 1 or (ip.src.country eq "US" xor dns.qry.qu)`, UsesASN | UsesGeo | UsesQU},
	}
	for _, tt := range tests {
		e, err := Compile(tt.cond)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.cond, err)
		}
		if got := e.Uses(); got != tt.want {
			t.Errorf("Compile(%q).Uses() = %s, want %s", tt.cond, got, tt.want)
		}
	}
	if Uses(0).String() != "none" {
		t.Errorf("Uses(0).String() = %q", Uses(0).String())
	}
	if u := UsesGeo | UsesASN; !u.Has(UsesGeo) || u.Has(UsesSrc) || u.String() != "asn|geo" {
		t.Errorf("Uses methods: Has/String wrong for %s", u)
	}
	var nilExpr *Expr
	if !nilExpr.Eval(&Fields{}) || nilExpr.Uses() != 0 || nilExpr.String() != "" {
		t.Error("a nil *Expr must be the always-true empty condition")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ cond, want string }{
		// HTTP fields
		{`http.request.uri.path eq "/"`, `1:1: http.request.uri.path: HTTP fields are not available to DNS-only load balancers`},
		{`dns.qry.qu and http.host eq "x"`, `1:16: http.host: HTTP fields are not available`},
		{`lower(http.host) eq "x"`, `1:7: http.host: HTTP fields`},
		{`raw.http.request.uri eq "x"`, `1:1: raw.http.request.uri: HTTP fields`},
		// unknown fields and functions
		{`ip.geoip.country eq "US"`, `1:1: unknown field ip.geoip.country; use ip.src.country`},
		{`foo eq 1`, `1:1: unknown field foo`},
		{`dns.qry.type eq 1 and bar`, `1:23: unknown field bar`},
		{`concat(dns.qry.name) eq "x"`, `1:1: unknown function concat`},
		{`1 eq dns.qry.type`, `1:1: expected a field, found the value 1`},
		{`"US" eq ip.src.country`, `1:1: a comparison starts with a field or a function, not a string`},
		// type mismatches
		{`ip.src contains "x"`, `1:8: contains does not apply to an IP address`},
		{`ip.src lt 1.2.3.4`, `1:8: lt does not apply to an IP address`},
		{`ip.src matches "x"`, `1:8: matches does not apply`},
		{`ip.src eq "192.0.2.1"`, `1:11: ip.src is an IP address; expected an address such as 192.0.2.1, found a string`},
		{`ip.src eq 10.0.0.0/8`, `1:11: a CIDR or range is only allowed in a set: ip.src in {10.0.0.0/8}`},
		{`ip.src eq 300.1.1.1`, `1:11: "300.1.1.1" is not an IP address`},
		{`ip.src eq fe80::1%eth0`, `1:18: unexpected character '%'`},
		{`ip.src in {10.0.0.0/33}`, `1:12: "10.0.0.0/33" is not a CIDR`},
		{`ip.src in {10.0.0.9..10.0.0.1}`, `1:12: range 10.0.0.9..10.0.0.1 is empty`},
		{`ip.src in {10.0.0.1..::2}`, `1:12: range 10.0.0.1..::2 mixes IPv4 and IPv6`},
		{`ip.src in {"10.0.0.1"}`, `1:12: ip.src is an IP address; expected an address, CIDR or range, found a string`},
		{`dns.qry.type eq "A"`, `1:17: dns.qry.type is an Integer: write 1 for A, not a string`},
		{`dns.qry.type eq AAAA`, `1:17: dns.qry.type is an Integer: write 28 for AAAA`},
		{`dns.qry.type in {1 "MX"}`, `1:20: dns.qry.type is an Integer: write 15 for MX`},
		{`dns.qry.type contains 1`, `1:14: contains needs a String; dns.qry.type is an Integer`},
		{`ip.src.asnum matches "1"`, `1:14: matches needs a String; ip.src.asnum is an Integer`},
		{`ip.src.asnum eq 1.5`, `1:17: ip.src.asnum is an Integer; "1.5" is not a decimal integer`},
		{`ip.src.asnum eq 99999999999999999999`, `is not a decimal integer`},
		{`ip.src.asnum eq 1..5`, `1:17: a range is only allowed in a set`},
		{`ip.src.asnum in {5..1}`, `1:18: range 5..1 is empty`},
		{`ip.src.country eq US`, `1:19: ip.src.country is a String; write the value in double quotes: "US"`},
		{`ip.src.country in {"US" CA}`, `1:25: ip.src.country is a String; write the value in double quotes: "CA"`},
		{`ip.src.country eq (`, `1:19: expected a quoted string after eq, found "("`},
		{`ip.src.country in {"US" (}`, `1:25: expected a quoted string after in, found "("`},
		{`dns.qry.type in {1 (}`, `1:20: dns.qry.type is an Integer; expected a number, found "("`},
		{`ip.src eq (`, `1:11: ip.src is an IP address; expected an address such as 192.0.2.1, found "("`},
		{`ip.src in {::ffff:0.0.0.0/8}`, `1:12: "::ffff:0.0.0.0/8": an IPv4-mapped CIDR needs at least 96 bits`},
		{`ip.src in {10.0.0.1..x}`, `1:12: "x" is not an IP address`},
		{`ip.src.country eq 1`, `1:19: ip.src.country is a String; write the value in double quotes: "1"`},
		{`dns.rr.opt.client.addr in {10.0.0.0/8}`, `1:28: dns.rr.opt.client.addr is a String`},
		{`dns.qry.qu eq 1`, `1:12: dns.qry.qu is a Boolean: use it alone (dns.qry.qu) or negated (not dns.qry.qu), without eq`},
		{`dns.rr.opt.client == true`, `1:19: dns.rr.opt.client is a Boolean`},
		{`len(dns.qry.type) eq 1`, `1:1: len needs a String; dns.qry.type is an Integer`},
		{`lower(ip.src) eq "x"`, `1:1: lower needs a String; ip.src is an IP address`},
		{`upper(dns.qry.qu) eq "x"`, `1:1: upper needs a String; dns.qry.qu is a Boolean`},
		{`lower("X") eq "x"`, `1:7: expected a field, found a string`},
		{`lower(dns.qry.name, "x") eq "x"`, `1:19: lower takes one argument`},
		{`lower(dns.qry.name eq "x"`, `1:6: expected ) to close lower(`},
		{`starts_with(dns.qry.name)`, `1:25: starts_with takes two arguments`},
		{`starts_with(dns.qry.name, www)`, `1:27: the second argument of starts_with must be a quoted string`},
		{`starts_with(dns.qry.name, "w") eq 1`, `1:32: starts_with returns a Boolean: it cannot be compared`},
		{`starts_with(ip.src, "1")`, `1:1: starts_with needs a String; ip.src is an IP address`},
		{`starts_with("abc", "a")`, `1:13: expected a field, found a string`},
		{`len(starts_with(dns.qry.name, "a")) eq 1`, `1:5: starts_with returns a Boolean and cannot be used as a value`},
		{`ends_with(dns.qry.name, "a"`, `1:10: expected ) to close ends_with(`},
		{`dns.qry.name matches "("`, `1:22: invalid regular expression`},
		// operators and syntax
		{`dns.qry.type EQ 1`, `1:14: operator EQ must be written in lowercase: eq`},
		{`dns.qry.qu AND dns.qry.qu`, `1:12: expected and, or, xor or the end of the condition; found "AND"`},
		{`NOT dns.qry.qu`, `1:1: NOT must be written in lowercase: not`},
		{`dns.qry.type = 1`, `1:14: unexpected '=': write == or eq to compare`},
		{`dns.qry.qu & dns.qry.qu`, `1:12: unexpected '&': write && or and`},
		{`dns.qry.qu | dns.qry.qu`, `1:12: unexpected '|'`},
		{`dns.qry.qu ^ dns.qry.qu`, `1:12: unexpected '^'`},
		{`ip.src.country eq 'US'`, `1:19: strings are written in double quotes`},
		{`dns.qry.type`, `1:13: expected an operator after dns.qry.type`},
		{`dns.qry.type 1`, `1:14: expected an operator after dns.qry.type (eq, ne, lt, le, gt, ge, contains, matches, in), found "1"`},
		{`dns.qry.type eq`, `1:16: dns.qry.type is an Integer; expected a number, found end of condition`},
		{`dns.qry.type in 1`, `1:17: expected { after in, found "1"`},
		{`dns.qry.type in {1, 2}`, `1:19: set values are separated by spaces, not commas`},
		{`dns.qry.type in {}`, `1:17: empty set`},
		{`dns.qry.type in {1 2`, `1:17: unclosed {`},
		{`ip.src in $office`, `1:11: lists ($name) are not supported`},
		{`(dns.qry.qu`, `1:1: unclosed (`},
		{`(dns.qry.qu dns.qry.qu)`, `1:13: expected ) or a logical operator`},
		{`dns.qry.qu)`, `1:11: unmatched )`},
		{`dns.qry.qu and`, `1:15: condition ends where an expression was expected`},
		{`and dns.qry.qu`, `1:1: expected a field or a function before and`},
		{`not`, `1:4: condition ends`},
		{`()`, `1:2: expected a field, a function, not or (; found ")"`},
		{`dns.qry.qu dns.qry.qu`, `1:12: expected and, or, xor or the end`},
		{`{`, `1:1: expected a field, a function, not or (; found "{"`},
		// strings
		{`ip.src.country eq "US`, `1:19: string is not terminated`},
		{`ip.src.country eq "U\S"`, `1:21: unknown escape \S`},
		{`ip.src.country eq "U\x4"`, `1:21: \x needs two hex digits`},
		{`ip.src.country eq "U\xZZ"`, `1:21: \x needs two hex digits`},
		{`ip.src.country eq "U\`, `1:19: string is not terminated`},
		{`ip.src.country eq r#"US"`, `1:19: raw string is not terminated: missing closing "#`},
		{`ip.src.country eq r#US`, `1:19: raw string needs a " after r#`},
		// positions on later lines count from the line start
		{"dns.qry.qu and\n  ip.src contains \"x\"", `2:10: contains does not apply`},
		{"ip.src.country eq \"日本\" and foo", `1:28: unknown field foo`},
		// length
		{strings.Repeat(" ", 4097), `1:1: condition is 4097 bytes long; the limit is 4096`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.cond)
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want error %q", tt.cond, tt.want)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Compile(%q) error %T is not *Error", tt.cond, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) error\n  got  %q\n  want %q", tt.cond, err, tt.want)
		}
	}
}

func TestEvalAllocs(t *testing.T) {
	conds := []string{
		`ip.src.country eq "US" and dns.qry.type in {1 28}`,
		`not ip.src in {10.0.0.0/8 198.51.100.0/24 2001:db8::/32}`,
		`ends_with(dns.qry.name, ".example.com") or starts_with(dns.qry.name, "api.")`,
		`dns.qry.name matches "^www\.example\."`,
		`lower(dns.qry.name) eq "www.example.com" xor upper(ip.src.country) contains "S"`,
		`lower(dns.qry.name) matches "^www"`,
		`upper(cf.load_balancer.name) in {"LB.EXAMPLE.COM" "X"}`,
		`ip.src.subdivision_1_iso_code in {"US-CA" "US-NY"}`,
		`ip.src.subdivision_1_iso_code matches "^US-"`,
		`dns.rr.opt.client.addr eq "198.51.100.0"`,
		`dns.rr.opt.client.addr in {"198.51.100.0" "192.0.2.0"}`,
		`dns.rr.opt.client.addr contains ".100."`,
		`dns.rr.opt.client.addr matches "^198"`,
		`len(dns.rr.opt.client.addr) gt 7 and dns.rr.opt.client`,
		`ip.src.asnum in {13335 64512..65534} and dns.qry.name.len lt 100 and dns.qry.qu`,
	}
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	f := base()
	for _, c := range conds {
		e, err := Compile(c)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c, err)
		}
		e.Eval(&f) // warm the scratch pool
		if n := testing.AllocsPerRun(1000, func() { e.Eval(&f) }); n != 0 {
			t.Errorf("Eval(%q) allocates %v times per run", c, n)
		}
	}
}

// TestEvalConcurrent runs one Expr from many goroutines; run with -race.
func TestEvalConcurrent(t *testing.T) {
	e, err := Compile(`lower(dns.qry.name) matches "^www" and dns.rr.opt.client.addr contains "." and ip.src.subdivision_1_iso_code in {"US-CA"}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := base()
			if i%2 == 1 {
				f.QName = "api.example.com."
			}
			for range 1000 {
				if got := e.Eval(&f); got != (i%2 == 0) {
					t.Errorf("goroutine %d: Eval = %v", i, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

var sink bool

func BenchmarkEval(b *testing.B) {
	benches := []struct{ name, cond string }{
		{"country", `ip.src.country eq "US"`},
		{"and_in", `ip.src.country eq "US" and dns.qry.type in {1 28}`},
		{"cidr_set", `ip.src in {10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 198.51.100.0/24 2001:db8::/32}`},
		{"name_suffix", `ends_with(dns.qry.name, ".example.com")`},
		{"regex", `dns.qry.name matches "^www\.example\."`},
		{"lower", `lower(dns.qry.name) eq "www.example.com"`},
		{"subdivision", `ip.src.subdivision_1_iso_code eq "US-CA"`},
		{"ecs_eq", `dns.rr.opt.client.addr eq "198.51.100.0"`},
		{"ecs_contains", `dns.rr.opt.client.addr contains ".100."`},
		{"compound", `(ip.src.country in {"US" "CA" "MX"} or ip.src.asnum in {13335 15169}) and not ip.src in {10.0.0.0/8} and dns.qry.type ne 28`},
	}
	f := base()
	for _, bb := range benches {
		e, err := Compile(bb.cond)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = e.Eval(&f)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`(ip.src.country in {"US" "CA"} or ip.src.asnum in {13335}) and not ip.src in {10.0.0.0/8} and dns.qry.name matches "^www\."`); err != nil {
			b.Fatal(err)
		}
	}
}
