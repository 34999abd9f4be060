package snapshot

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/health"
	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/steer"
	"github.com/lbdns/lbdns/pkg/zone"
)

// Input is everything a snapshot is built from. Zones are the loaded zones without marks;
// Catalog is normalised, resolved and validated.
type Input struct {
	Zones   []*zone.Zone
	Catalog *model.Catalog
	Health  *health.View // nil: no prober (every monitored origin Unknown)
	Geo     *geo.DB
	PoP     model.PoP
	Regions func(country, subdivision string) string // optional: region table with config overrides
}

var generation atomic.Uint64

// Build compiles in into a new immutable Snapshot. It does not publish it.
func Build(in Input) (*Snapshot, error) {
	cat := in.Catalog
	if cat == nil {
		cat = &model.Catalog{}
	}
	set, err := steer.Compile(cat, steer.Options{PoP: in.PoP, Regions: in.Regions})
	if err != nil {
		return nil, fmt.Errorf("compile load balancers: %w", err)
	}
	// Mark each zone's tree with the load balancers whose names lie in it; a name belongs to
	// the longest zone that contains it.
	marks := make([]map[string]int, len(in.Zones))
	for i := range set.LBs {
		name := set.LBs[i].Name
		best := -1
		for zi, z := range in.Zones {
			if inZone(name, z.Origin()) && (best < 0 || len(z.Origin()) > len(in.Zones[best].Origin())) {
				best = zi
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("load balancer %s: not inside any served zone", name)
		}
		if marks[best] == nil {
			marks[best] = map[string]int{}
		}
		marks[best][name] = i
	}
	zones := make([]*zone.Zone, len(in.Zones))
	for i, z := range in.Zones {
		if marks[i] == nil || !z.Available() {
			zones[i] = z // an unavailable secondary answers SERVFAIL, LB names included
			continue
		}
		mz, err := z.WithMarks(marks[i])
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z.Origin(), err)
		}
		zones[i] = mz
	}
	return &Snapshot{
		Gen:     NextGen(),
		Zones:   zone.NewSet(zones...),
		Steer:   set,
		Health:  NewDenseHealth(set, in.Health),
		Geo:     in.Geo,
		Catalog: cat,
		View:    in.Health,
	}, nil
}

// inZone reports whether name (lowercase FQDN, possibly "*.…") is at or below origin.
func inZone(name, origin string) bool {
	name, origin = strings.ToLower(name), strings.ToLower(origin)
	return name == origin || strings.HasSuffix(name, "."+origin) || origin == "."
}

// DenseHealth is health as steering reads it: states in arrays indexed like steer.Set's pools
// and origins, so the query path does no map lookups.
type DenseHealth struct {
	origins [][]steer.State
	rtt     []float64
	hasRTT  []bool

	// For traces only (steer.HealthDescriber): where the states came from.
	view *health.View
	ids  []string
	now  func() time.Time
}

// NewDenseHealth copies the view's states for every pool and origin of set. A nil view leaves
// every origin Unknown (which counts as down only in monitored pools).
func NewDenseHealth(set *steer.Set, v *health.View) *DenseHealth {
	d := &DenseHealth{
		origins: make([][]steer.State, len(set.Pools)),
		rtt:     make([]float64, len(set.Pools)),
		hasRTT:  make([]bool, len(set.Pools)),
		view:    v,
		ids:     make([]string, len(set.Pools)),
		now:     time.Now,
	}
	for p := range set.Pools {
		pool := &set.Pools[p]
		d.ids[p] = pool.ID
		st := make([]steer.State, len(pool.Origins))
		for o := range st {
			st[o] = steer.Unknown
			if v != nil {
				switch v.Origin(pool.ID, o).State {
				case health.Healthy:
					st[o] = steer.Up
				case health.Unhealthy:
					st[o] = steer.Down
				}
			}
		}
		d.origins[p] = st
		if v != nil {
			d.rtt[p], d.hasRTT[p] = v.PoolRTT(pool.ID)
		}
	}
	return d
}

// Origin implements steer.Health.
func (d *DenseHealth) Origin(pool, origin int) steer.State {
	if pool < 0 || pool >= len(d.origins) || origin < 0 || origin >= len(d.origins[pool]) {
		return steer.Unknown
	}
	return d.origins[pool][origin]
}

// DescribeOrigin implements steer.HealthDescriber: the evidence behind an origin's state and
// its age, for explain's trace.
func (d *DenseHealth) DescribeOrigin(pool, origin int) string {
	if d.view == nil || pool < 0 || pool >= len(d.ids) {
		return "no health result (no prober)"
	}
	st := d.view.Origin(d.ids[pool], origin)
	if st.LastProbe.IsZero() {
		return "not probed yet"
	}
	now := d.now()
	out := fmt.Sprintf("%s, last probe %s ago", st.Reason, now.Sub(st.LastProbe).Round(time.Second))
	if st.Code != 0 {
		out += fmt.Sprintf(", code %d", st.Code)
	}
	if st.RTT > 0 {
		out += fmt.Sprintf(", rtt %s", st.RTT.Round(time.Microsecond))
	}
	if !st.Changed.IsZero() {
		out += fmt.Sprintf(", %s since %s ago", st.State, now.Sub(st.Changed).Round(time.Second))
	}
	return out
}

// PoolRTT implements steer.Health.
func (d *DenseHealth) PoolRTT(pool int) (float64, bool) {
	if pool < 0 || pool >= len(d.rtt) {
		return 0, false
	}
	return d.rtt[pool], d.hasRTT[pool]
}

// NextGen returns a new generation number, larger than every one before it.
func NextGen() uint64 { return generation.Add(1) }
