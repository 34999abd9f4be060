package rules

import (
	"net/netip"
	"strings"
)

// Fields are the values a condition is evaluated against, one set per query. The zero value
// is a query with nothing known: empty strings, zero numbers, no source address, no ECS.
//
// Callers fill only what [Expr.Uses] reports as used: a GeoIP or ASN lookup is needed only
// when an expression reads the fields that come from it.
type Fields struct {
	// LBName is cf.load_balancer.name: the load balancer's name, lowercase, without a
	// trailing dot ("lb.example.com", as in the Cloudflare API and documentation).
	LBName string
	// LBRegion is cf.load_balancer.region: the region code of the answering server
	// ("ENAM"), empty when none is configured.
	LBRegion string
	// Src is ip.src: the ECS address when the query carries one, else the resolver's
	// address (ruling 18). An invalid Src is a missing value: every comparison on ip.src is
	// false. IPv4-mapped IPv6 addresses are compared as IPv4.
	Src netip.Addr
	// ASN is ip.src.asnum, 0 when unknown.
	ASN uint32
	// Country is ip.src.country, an ISO 3166-1 alpha-2 code ("US"), empty when unknown.
	Country string
	// Continent is ip.src.continent ("NA", "EU", …), empty when unknown.
	Continent string
	// Subdivision is the first-level subdivision code without the country prefix ("CA"),
	// as GeoIP gives it. The field ip.src.subdivision_1_iso_code is the full ISO 3166-2
	// code ("US-CA", as Cloudflare has it): Country + "-" + Subdivision, built only when a
	// rule reads it. A Subdivision that already contains "-" is taken as the full code.
	Subdivision string
	// QName is dns.qry.name: the query name, lowercase, fully qualified with the trailing
	// dot ("www.example.com.", as in Cloudflare's example). dns.qry.name.len is its length
	// in bytes, dot included.
	QName string
	// QType is dns.qry.type, the numeric query type (1 = A, 28 = AAAA).
	QType uint16
	// QU is dns.qry.qu, which Cloudflare describes as "message is a question".
	QU bool
	// ECS is dns.rr.opt.client: the query carries an EDNS Client Subnet option.
	ECS bool
	// ECSAddr is the ECS address. dns.rr.opt.client.addr is its text form ("192.0.2.0");
	// without ECS it is a missing value. It is formatted only when a rule needs the text.
	ECSAddr netip.Addr
}

// Uses is a bit set of the inputs an expression reads.
type Uses uint32

// The inputs an expression may read; see [Expr.Uses].
const (
	UsesLBName   Uses = 1 << iota // cf.load_balancer.name
	UsesLBRegion                  // cf.load_balancer.region
	UsesSrc                       // ip.src
	UsesASN                       // ip.src.asnum: needs an ASN lookup
	UsesGeo                       // ip.src.country, .continent, .subdivision_1_iso_code: needs a GeoIP lookup
	UsesQName                     // dns.qry.name, dns.qry.name.len
	UsesQType                     // dns.qry.type
	UsesQU                        // dns.qry.qu
	UsesECS                       // dns.rr.opt.client, dns.rr.opt.client.addr
)

// Has reports whether all bits of v are set in u.
func (u Uses) Has(v Uses) bool { return u&v == v }

// String lists the set bits by name, for logs and explain output.
func (u Uses) String() string {
	names := [...]string{"lb_name", "lb_region", "src", "asn", "geo", "qname", "qtype", "qu", "ecs"}
	var b strings.Builder
	for i, n := range names {
		if u&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// typ is the type of a field, a function result or a literal.
type typ uint8

const (
	tNone typ = iota
	tString
	tInt
	tIP
	tBool
)

func (t typ) String() string {
	switch t {
	case tString:
		return "a String"
	case tInt:
		return "an Integer"
	case tIP:
		return "an IP address"
	case tBool:
		return "a Boolean"
	}
	return "nothing"
}

// field identifies one of the supported fields.
type field uint8

const (
	fNone field = iota
	fLBName
	fLBRegion
	fSrc
	fASN
	fCountry
	fContinent
	fSubdivision
	fQName
	fQNameLen
	fQU
	fQType
	fECS
	fECSAddr
)

// fieldInfo describes every supported field. Cloudflare's Bytes fields are Strings here: Go
// strings are bytes, and the operators are the same.
var fieldInfo = [...]struct {
	name string
	typ  typ
	uses Uses
}{
	fLBName:      {"cf.load_balancer.name", tString, UsesLBName},
	fLBRegion:    {"cf.load_balancer.region", tString, UsesLBRegion},
	fSrc:         {"ip.src", tIP, UsesSrc},
	fASN:         {"ip.src.asnum", tInt, UsesASN},
	fCountry:     {"ip.src.country", tString, UsesGeo},
	fContinent:   {"ip.src.continent", tString, UsesGeo},
	fSubdivision: {"ip.src.subdivision_1_iso_code", tString, UsesGeo},
	fQName:       {"dns.qry.name", tString, UsesQName},
	fQNameLen:    {"dns.qry.name.len", tInt, UsesQName},
	fQU:          {"dns.qry.qu", tBool, UsesQU},
	fQType:       {"dns.qry.type", tInt, UsesQType},
	fECS:         {"dns.rr.opt.client", tBool, UsesECS},
	fECSAddr:     {"dns.rr.opt.client.addr", tString, UsesECS},
}

func (f field) String() string { return fieldInfo[f].name }

func lookupField(name string) field {
	for i := fLBName; i <= fECSAddr; i++ {
		if fieldInfo[i].name == name {
			return i
		}
	}
	return fNone
}

// fieldHints suggest the field to use for names from other Cloudflare products.
var fieldHints = map[string]string{
	"ip.geoip.country":                "ip.src.country",
	"ip.geoip.continent":              "ip.src.continent",
	"ip.geoip.asnum":                  "ip.src.asnum",
	"ip.geoip.subdivision_1_iso_code": "ip.src.subdivision_1_iso_code",
	"dns.qry.name.length":             "dns.qry.name.len",
}
