package steer

import (
	"math"
	"net/netip"
)

// Location is a GeoIP answer (the shape of geo.Location).
// TODO(steer): becomes an alias of geo.Location once pkg/geo lands.
type Location struct {
	Country, Subdivision, Region, Continent string
	Lat, Lon                                float64
	HasCoords                               bool
	ASN                                     uint32
	Prefix                                  netip.Prefix // the GeoIP network that matched
}

// distance is the great-circle distance in km (haversine, mean Earth radius).
func distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	const rad = math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(math.Min(1, a)))
}

// regionOf is the built-in country/subdivision → region table.
// TODO(steer): region.Of once pkg/region lands.
func regionOf(country, subdivision string) string { return "" }
