package health

import "time"

// PoolState is a pool's health in Cloudflare's vocabulary (seed-model §9.2).
type PoolState uint8

// Pool states.
const (
	PoolUnknown  PoolState = iota // "Health unknown": no monitor, disabled, or not determined yet
	PoolHealthy                   // every enabled origin healthy
	PoolDegraded                  // some origin unhealthy, still at least minimum_origins healthy
	PoolCritical                  // fewer than minimum_origins healthy: no traffic unless fallback
	PoolNoHealth                  // "No health": the fallback pool of a load balancer (see LBStatus)
)

func (s PoolState) String() string {
	switch s {
	case PoolHealthy:
		return "Healthy"
	case PoolDegraded:
		return "Degraded"
	case PoolCritical:
		return "Critical"
	case PoolNoHealth:
		return "No health"
	}
	return "Health unknown"
}

// LBState is a load balancer's health.
type LBState uint8

// Load balancer states.
const (
	LBHealthy  LBState = iota // all pools healthy
	LBDegraded                // at least one pool unhealthy, another still serves
	LBCritical                // every pool unhealthy: traffic goes to the fallback
)

func (s LBState) String() string {
	switch s {
	case LBDegraded:
		return "Degraded"
	case LBCritical:
		return "Critical"
	}
	return "Healthy"
}

// OriginStatus is one origin's health as of a View.
type OriginStatus struct {
	State     State
	Reason    string        // of the last probe: ReasonOK, or why it failed; ReasonNotProbed before any
	Code      int           // HTTP status or SMTP code of the last probe, 0 when none
	RTT       time.Duration // of the last probe
	Changed   time.Time     // when State last changed (zero: never)
	LastProbe time.Time     // zero: never probed
	Enabled   bool
	Monitored bool // the pool has a monitor and is enabled, and the origin is enabled
}

// PoolStatus is one pool's health as of a View.
type PoolStatus struct {
	State          PoolState
	Healthy        bool // false only when Critical or monitored-and-unknown (ruling 33, ruling 8)
	Monitored      bool
	Enabled        bool
	HealthyOrigins int // enabled origins that are healthy
	EnabledOrigins int
	MinimumOrigins int
	Changed        time.Time // when Healthy last changed
}

type poolView struct {
	id, name string
	status   PoolStatus
	origins  []OriginStatus
	addrs    []string
	names    []string
	rttMS    float64
	rttOK    bool
}

// View is an immutable picture of health. The zero of every lookup is "unknown".
type View struct {
	gen    uint64
	at     time.Time
	pools  map[string]*poolView
	order  []string
	events []Event // newest last
}

// Gen increases with every published View.
func (v *View) Gen() uint64 { return v.gen }

// Time is when the View was built.
func (v *View) Time() time.Time { return v.at }

// PoolIDs lists the pools of the View in catalog order.
func (v *View) PoolIDs() []string { return append([]string(nil), v.order...) }

// Origin is the status of origin i (its index in the pool's origins) of pool poolID.
func (v *View) Origin(poolID string, i int) OriginStatus {
	pv := v.pools[poolID]
	if pv == nil || i < 0 || i >= len(pv.origins) {
		return OriginStatus{}
	}
	return pv.origins[i]
}

// Pool is the status of pool poolID; an unknown id is PoolUnknown and not healthy.
func (v *View) Pool(poolID string) PoolStatus {
	pv := v.pools[poolID]
	if pv == nil {
		return PoolStatus{}
	}
	return pv.status
}

// PoolRTT is the pool's latency for dynamic_latency steering (ruling 12): the mean over its
// healthy enabled origins of their RTT averages, in milliseconds; ok is false when none has one.
func (v *View) PoolRTT(poolID string) (ms float64, ok bool) {
	pv := v.pools[poolID]
	if pv == nil {
		return 0, false
	}
	return pv.rttMS, pv.rttOK
}

// LB is the health of a load balancer whose pools (default_pools, fallback excluded) are
// given: Healthy when every pool is healthy, Critical when none is, else Degraded. Pools without
// a monitor count as healthy.
func (v *View) LB(poolIDs ...string) LBState {
	up := 0
	for _, id := range poolIDs {
		if v.Pool(id).Healthy {
			up++
		}
	}
	switch {
	case up == len(poolIDs):
		return LBHealthy
	case up == 0:
		return LBCritical
	}
	return LBDegraded
}

// LBStatus is LB plus each pool's state, with the fallback pool reported as PoolNoHealth
// (Cloudflare reserves "No health" for it) unless it is also one of the pools.
func (v *View) LBStatus(pools []string, fallback string) (LBState, map[string]PoolState) {
	out := make(map[string]PoolState, len(pools)+1)
	for _, id := range pools {
		out[id] = v.Pool(id).State
	}
	if _, ok := out[fallback]; !ok && fallback != "" {
		out[fallback] = PoolNoHealth
	}
	return v.LB(pools...), out
}

// Events returns up to limit of the newest health events, newest first (limit <= 0: all kept).
func (v *View) Events(limit int) []Event {
	n := len(v.events)
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]Event, 0, n)
	for i := len(v.events) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, v.events[i])
	}
	return out
}
