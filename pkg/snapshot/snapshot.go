// Package snapshot builds and publishes the immutable serving state of lbdns: the zones (with
// load-balanced names marked in their trees), the compiled load balancers and pools, the dense
// health table steering reads, and the GeoIP database. The query path loads one *Snapshot
// through an atomic.Pointer and never sees it change; writers (reload, API, prober, transfers)
// build a new one and swap it in.
package snapshot

import (
	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/health"
	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/steer"
	"github.com/lbdns/lbdns/pkg/zone"
)

// Snapshot is one immutable generation of serving state.
type Snapshot struct {
	Gen    uint64       // increases with every publication
	Zones  *zone.Set    // served zones; LB names are marked nodes whose mark is an index into Steer.LBs
	Steer  *steer.Set   // compiled load balancers and pools; nil when there are none
	Health steer.Health // health as steering reads it
	Geo    *geo.DB      // nil without a GeoIP database (every lookup fails, ruling 10)
	// Starting: the first health round is not in yet, so load-balanced names answer SERVFAIL
	// while zone data is served (ruling 8).
	Starting bool

	// Not read by the query path: what the snapshot was built from, for explain, the API
	// and transfers.
	Catalog *model.Catalog
	View    *health.View
}
