package rules_test

import (
	"fmt"
	"net/netip"

	"github.com/lbdns/lbdns/pkg/rules"
)

func ExampleCompile() {
	e, err := rules.Compile(`ip.src.country in {"US" "CA"} && !ip.src in {10.0.0.0/8} || dns.qry.name == "WWW.Example.com"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	fmt.Println(e.Uses())

	f := rules.Fields{QName: "api.example.com.", Src: netip.MustParseAddr("192.0.2.1")}
	if e.Uses().Has(rules.UsesGeo) {
		f.Country = "CA" // from a GeoIP lookup, done only because a rule reads it
	}
	fmt.Println(e.Eval(&f))

	_, err = rules.Compile(`dns.qry.type eq "AAAA"`)
	fmt.Println(err)
	// Output:
	// ip.src.country in {"US" "CA"} and not ip.src in {10.0.0.0/8} or dns.qry.name eq "www.example.com."
	// src|geo|qname
	// true
	// 1:17: dns.qry.type is an Integer: write 28 for AAAA, not a string
}
