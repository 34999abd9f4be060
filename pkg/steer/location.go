package steer

import (
	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/region"
)

// Location is a GeoIP answer; its Prefix length is the ECS scope of answers that used it.
type Location = geo.Location

// distance is the great-circle distance in km.
func distance(lat1, lon1, lat2, lon2 float64) float64 { return geo.Distance(lat1, lon1, lat2, lon2) }

// regionOf is the built-in country/subdivision → region table (ruling 10b).
func regionOf(country, subdivision string) string { return region.Of(country, subdivision) }
