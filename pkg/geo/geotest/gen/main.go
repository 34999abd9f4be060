// Command gen writes the demo GeoIP city database used by `make run`: the records of
// geotest.DefaultRecords (see the geotest package documentation) in the MaxMind City
// layout, so the demo has geo steering without downloading anything.
//
//	go run ./pkg/geo/geotest/gen -out geoip/demo-city.mmdb [-asn geoip/demo-asn.mmdb]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lbdns/lbdns/pkg/geo/geotest"
)

func main() {
	out := flag.String("out", "geoip/demo-city.mmdb", "city database to write")
	asn := flag.String("asn", "", "also write the matching ASN database to this file")
	flag.Parse()
	if err := geotest.BuildCity(*out, geotest.MaxMind, geotest.DefaultRecords()); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *asn != "" {
		if err := geotest.BuildASN(*asn, geotest.DefaultASNRecords()); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
