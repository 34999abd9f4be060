package steer

import (
	"net/netip"
)

// stackPools is how many candidate pools a decision sorts without allocating. Longer pool
// lists work, with one allocation.
const stackPools = 32

// want is what the query asks the load balancer for.
type want uint8

const (
	wantNone want = iota
	wantA
	wantAAAA
	wantCNAME
	wantMX
	wantSRV
)

// locSource says where the decision's location came from.
type locSource uint8

const (
	locPoP locSource = iota
	locECS
	locResolver
)

var locSourceNames = [...]string{"PoP", "ECS", "resolver"}

// decider holds the state of one decision; it lives on Decide's stack.
type decider struct {
	s      *Set
	lb     *LB
	q      *Query
	tr     *Trace
	geo    Locator
	health Health
	rnd    draw
	want   want
	v      Settings // the effective settings: the LB's with matching rules' overrides
	policy Policy   // v.Policy with "" resolved
	scope  int
	all    bool // answer every eligible origin (Default)

	lastScan     poolScan // the scan of the last pool usable() accepted
	lastScanPool int      // its index + 1 (0: none)

	keyDone bool
	keyHash uint64
	key     netip.Prefix

	locDone bool
	loc     Location
	locSrc  locSource
}

// Decide chooses the answer of load balancer lb to q. It resets *out (keeping the capacity of
// out.Origins) and fills it; with tr != nil it records every step in tr. It never panics on
// bad indices or a nil Env: the answer is then NODATA.
func (s *Set) Decide(lb int, env *Env, q *Query, out *Decision, tr *Trace) {
	if out == nil {
		return
	}
	out.Kind, out.Pool, out.Origins, out.TTL, out.Scope, out.Fallback = None, -1, out.Origins[:0], 0, 0, false
	if s == nil || q == nil || lb < 0 || lb >= len(s.LBs) {
		if tr != nil {
			tr.add("no such load balancer: NODATA")
		}
		return
	}
	d := decider{s: s, lb: &s.LBs[lb], q: q, tr: tr}
	if env != nil {
		d.geo, d.health, d.rnd.src = env.Geo, env.Health, env.Rand
	}
	d.decide(out)
	if q.HasECS {
		out.Scope = d.scope
	}
	if tr != nil {
		if q.HasECS {
			tr.addf("ECS scope: /%d", out.Scope)
		} else {
			tr.add("ECS scope: none (the query carried no ECS)")
		}
		tr.addf("TTL: %d", out.TTL)
	}
}

func (d *decider) decide(out *Decision) {
	lb, q, tr := d.lb, d.q, d.tr
	d.want = lb.wantOf(q.Type)
	if tr != nil {
		svc := lb.Service.String()
		if lb.HostMX {
			svc += " and MX"
		}
		tr.addf("load balancer %s (%s records), query %s %s from %s", lb.Name, svc, q.Name, typeName(q.Type), q.Source)
		if q.HasECS {
			tr.addf("ECS: %s", q.ECS)
		}
	}
	if !lb.Enabled {
		if tr != nil {
			tr.add("load balancer disabled: the zone data answers")
		}
		return
	}
	if d.want == wantNone {
		if tr != nil {
			tr.addf("a %s load balancer does not answer %s: the zone data answers", lb.Service, typeName(q.Type))
		}
		return
	}
	d.v = lb.Settings
	if len(lb.Rules) > 0 {
		d.rules()
	}
	out.TTL = d.v.TTL
	d.policy = d.v.Policy
	if d.policy == PolicyDefault {
		d.policy = PolicyOff
		if len(d.v.PopPools) > 0 || len(d.v.CountryPools) > 0 || len(d.v.RegionPools) > 0 {
			d.policy = PolicyGeo
		}
	}
	if tr != nil {
		tr.addf("steering policy %s, location_strategy prefer_ecs %s mode %s, session_affinity %s, TTL %d",
			d.policy, d.v.PreferECS, d.v.Mode, d.v.SessionAffinity, d.v.TTL)
		if d.v.Policy == PolicyDefault {
			tr.addf("(steering_policy \"\" resolves to %s)", d.policy)
		}
		if d.v.SessionAffinity == AffinityCookie || d.v.SessionAffinity == AffinityHeader {
			tr.addf("session_affinity %s has no effect on DNS-only answers", d.v.SessionAffinity)
		}
	}

	var list []int
	if d.policy == PolicyGeo {
		list = d.geoList()
	} else {
		list = d.v.DefaultPools
		if tr != nil {
			tr.addf("pools: default_pools %s", d.poolNames(list))
		}
	}

	p := d.choosePool(list)
	fallback := false
	if p < 0 {
		p = d.fallbackPool()
		fallback = p >= 0
	}
	if p < 0 {
		if tr != nil {
			tr.add("answer: NODATA (no pool can answer)")
		}
		return
	}
	out.Pool, out.Fallback = p, fallback
	d.origins(p, fallback, out)
}

func (lb *LB) wantOf(qtype uint16) want {
	if lb.HostMX && qtype == typeMX {
		return wantMX
	}
	switch lb.Service {
	case ServeMX:
		if qtype == typeMX {
			return wantMX
		}
	case ServeSRV:
		if qtype == typeSRV {
			return wantSRV
		}
	default:
		switch qtype {
		case typeA:
			return wantA
		case typeAAAA:
			return wantAAAA
		case typeCNAME:
			return wantCNAME
		}
	}
	return wantNone
}

// addScope raises the ECS scope to bits (ruling 11: the maximum over what was used).
func (d *decider) addScope(bits int) {
	if bits > d.scope {
		d.scope = bits
	}
}

// ecsBits is the ECS source prefix length, 0 without ECS.
func (d *decider) ecsBits() int {
	if !d.q.HasECS || !d.q.ECS.IsValid() {
		return 0
	}
	return d.q.ECS.Bits()
}

func (d *decider) lookup(ip netip.Addr) (Location, bool) {
	if d.geo == nil || !ip.IsValid() {
		return Location{}, false
	}
	return d.geo.Lookup(ip)
}

// clientKey is the hash of the client key (ruling 2): the ECS address truncated to its source
// prefix when present, else the resolver address truncated to /24 or /56. Using it makes the
// answer depend on the ECS source prefix.
func (d *decider) clientKey() uint64 {
	if !d.keyDone {
		d.keyDone = true
		if d.q.HasECS {
			d.key = d.q.ECS.Masked()
		} else {
			a := d.q.Source.Unmap()
			bits := 56
			if a.Is4() {
				bits = 24
			}
			d.key, _ = a.Prefix(bits)
		}
		d.keyHash = hashPrefix(d.key)
		if d.tr != nil {
			src := "resolver"
			if d.q.HasECS {
				src = "ECS"
			}
			d.tr.addf("client key: %s (%s)", d.key, src)
		}
	}
	d.addScope(d.ecsBits())
	return d.keyHash
}

// location is the location steering uses (rulings 10, 11), looked up once per decision.
func (d *decider) location() *Location {
	if d.locDone {
		return &d.loc
	}
	d.locDone = true
	q, tr := d.q, d.tr
	prefer := false
	switch d.v.PreferECS {
	case PreferECSAlways:
		prefer = true
	case PreferECSProximity:
		prefer = d.policy == PolicyProximity
	case PreferECSGeo:
		prefer = d.policy == PolicyGeo
	}
	if q.HasECS && prefer {
		if loc, ok := d.lookup(q.ECS.Addr()); ok {
			d.setLoc(loc, locECS)
			if loc.Prefix.IsValid() {
				d.addScope(loc.Prefix.Bits())
			} else {
				d.addScope(d.ecsBits())
			}
			return &d.loc
		}
		// The answer still depends on this subnet: its lookup failed where another's may not.
		d.addScope(d.ecsBits())
		if tr != nil {
			tr.addf("location: GeoIP has no record for ECS %s", q.ECS)
		}
	} else if q.HasECS && tr != nil {
		tr.addf("location: ECS not used (prefer_ecs %s, policy %s)", d.v.PreferECS, d.policy)
	}
	if d.v.Mode == ModeResolverIP {
		if loc, ok := d.lookup(q.Source); ok {
			d.setLoc(loc, locResolver)
			return &d.loc
		}
		if tr != nil {
			tr.addf("location: GeoIP has no record for resolver %s, using the PoP", q.Source)
		}
	}
	d.setLoc(d.s.pop.Location, locPoP)
	return &d.loc
}

func (d *decider) setLoc(loc Location, src locSource) {
	d.loc, d.locSrc = loc, src
	if src != locPoP {
		d.loc.Region = d.s.region(loc.Country, loc.Subdivision, loc.Region)
	}
	if tr := d.tr; tr != nil {
		l := &d.loc
		switch src {
		case locPoP:
			tr.addf("location: PoP %s: country %s, region %s, coordinates %s",
				orDash(d.s.pop.Code), orDash(l.Country), orDash(l.Region), coords(l))
		default:
			tr.addf("location: %s, GeoIP record %s: country %s, subdivision %s, region %s, continent %s, coordinates %s",
				locSourceNames[src], prefixOrDash(l.Prefix), orDash(l.Country), orDash(l.Subdivision),
				orDash(l.Region), orDash(l.Continent), coords(l))
		}
	}
}

// geoList is the geo area's pool list (ruling 9): pop_pools[server.pop.code] →
// country_pools[country] → region_pools[region] → default_pools, the first defined key wins.
func (d *decider) geoList() []int {
	v, tr := &d.v, d.tr
	if code := d.s.pop.Code; code != "" && len(v.PopPools) > 0 {
		if l, ok := v.PopPools[code]; ok {
			if tr != nil {
				tr.addf("area: pop_pools[%s] %s", code, d.poolNames(l))
			}
			return l
		}
	}
	if len(v.CountryPools) > 0 || len(v.RegionPools) > 0 {
		loc := d.location()
		if loc.Country != "" && len(v.CountryPools) > 0 {
			if l, ok := v.CountryPools[loc.Country]; ok {
				if tr != nil {
					tr.addf("area: country_pools[%s] %s", loc.Country, d.poolNames(l))
				}
				return l
			}
		}
		if loc.Region != "" && len(v.RegionPools) > 0 {
			if l, ok := v.RegionPools[loc.Region]; ok {
				if tr != nil {
					tr.addf("area: region_pools[%s] %s", loc.Region, d.poolNames(l))
				}
				return l
			}
		}
	}
	if tr != nil {
		tr.addf("area: no key for this location, default_pools %s", d.poolNames(v.DefaultPools))
	}
	return v.DefaultPools
}

// poolScan counts a pool's origins for the query.
type poolScan struct {
	healthy int // enabled origins that are up (or in an unmonitored pool)
	ip      int // eligible IP origins of the asked family (CNAME: of any family)
	host    int // eligible hostname origins (SRV: with a port)
}

func (d *decider) state(p, o int) State {
	if d.health == nil {
		return Unknown
	}
	return d.health.Origin(p, o)
}

// eligible reports whether origin o (of pool pl, index p,i) can be in the answer, ignoring the
// family; up is its health verdict.
func (d *decider) scan(p int, ignoreHealth bool) poolScan {
	pl := &d.s.Pools[p]
	var sc poolScan
	for i := range pl.Origins {
		o := &pl.Origins[i]
		if !o.Enabled {
			continue
		}
		if !ignoreHealth && pl.Monitored && d.state(p, i) != Up {
			continue
		}
		sc.healthy++
		if !(o.Weight > 0) {
			continue
		}
		switch d.want {
		case wantA:
			if o.fam == famV4 {
				sc.ip++
			} else if o.fam == famHost {
				sc.host++
			}
		case wantAAAA:
			if o.fam == famV6 {
				sc.ip++
			} else if o.fam == famHost {
				sc.host++
			}
		case wantCNAME:
			if o.fam == famHost {
				sc.host++
			} else {
				sc.ip++
			}
		case wantMX:
			if o.fam == famHost {
				sc.host++
			}
		case wantSRV:
			if o.fam == famHost && o.Port != 0 {
				sc.host++
			}
		}
	}
	return sc
}

// usable reports whether pool p can answer the query: enabled, healthy (ruling 23; pools
// without a monitor ignore health) and with an eligible origin for the query (ruling 3).
func (d *decider) usable(p int) bool {
	if p < 0 || p >= len(d.s.Pools) {
		return false
	}
	pl := &d.s.Pools[p]
	if !pl.Enabled {
		if d.tr != nil {
			d.tr.addf("pool %s: disabled", pl.Name)
		}
		return false
	}
	sc := d.scan(p, false)
	healthy := !pl.Monitored || sc.healthy >= pl.MinimumOrigins
	ok := healthy && sc.ip+sc.host > 0
	if ok {
		d.lastScan, d.lastScanPool = sc, p+1
	}
	if tr := d.tr; tr != nil {
		h := "not monitored (health ignored)"
		if pl.Monitored {
			state := "healthy"
			if !healthy {
				state = "unhealthy"
			}
			h = sprintf("%s: %d of %d origins up, minimum_origins %d", state, sc.healthy, len(pl.Origins), pl.MinimumOrigins)
		}
		verdict := "usable"
		switch {
		case !healthy:
			verdict = "skipped"
		case sc.ip+sc.host == 0:
			verdict = sprintf("skipped: no eligible origin for %s", typeName(d.q.Type))
		}
		tr.addf("pool %s: %s; %s", pl.Name, h, verdict)
		d.traceOriginHealth(p)
	}
	return ok
}

// shed reports whether pool p passes this query on to the next pool (ruling 16).
func (d *decider) shed(p int) bool {
	pl := &d.s.Pools[p]
	pct, hash := pl.Shedding.DefaultPercent, pl.Shedding.DefaultHash
	kind := "default"
	if d.v.SessionAffinity == AffinityIPCookie {
		pct, hash, kind = pl.Shedding.SessionPercent, true, "session"
	}
	if !(pct > 0) {
		return false
	}
	var u float64
	how := "random draw"
	if pct >= 100 {
		u, how = 0, "always"
	} else if hash {
		u, how = unit(mix(d.clientKey()^pl.seed)), "client-key hash"
	} else {
		u = d.rnd.float()
	}
	shed := u*100 < pct
	if d.tr != nil {
		verdict := "kept"
		if shed {
			verdict = "shed to the next pool"
		}
		d.tr.addf("pool %s: load shedding %s %.4g%%, %s %.4f: %s", pl.Name, kind, pct, how, u, verdict)
	}
	return shed
}

// ranked is a candidate pool with its sort key.
type ranked struct {
	p   int
	key float64
	has bool // has a key; pools without one sort last, in list order
}

// sortRanked is a stable insertion sort (lists are short).
func sortRanked(r []ranked) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && less(&r[j], &r[j-1]); j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

func less(a, b *ranked) bool {
	if a.has != b.has {
		return a.has
	}
	return a.has && a.key < b.key
}

// choosePool applies the global policy to list and returns the chosen pool, or -1.
func (d *decider) choosePool(list []int) int {
	if len(list) == 0 {
		return -1
	}
	var buf [stackPools]ranked
	r := buf[:0]
	if len(list) > stackPools {
		r = make([]ranked, 0, len(list))
	}
	switch d.policy {
	case PolicyRandom, PolicyLeastOutstanding, PolicyLeastConnections:
		return d.random(list, r)
	case PolicyProximity:
		loc := d.location()
		for _, p := range list {
			rk := ranked{p: p}
			if p >= 0 && p < len(d.s.Pools) && loc.HasCoords && d.s.Pools[p].HasCoords {
				pl := &d.s.Pools[p]
				rk.key, rk.has = distance(loc.Lat, loc.Lon, pl.Lat, pl.Lon), true
			}
			r = append(r, rk)
		}
		sortRanked(r)
		if d.tr != nil {
			if !loc.HasCoords {
				d.tr.add("proximity: the location has no coordinates, default_pools order")
			}
			d.traceRanked("proximity order", r, "%.0f km")
		}
	case PolicyDynamicLatency:
		for _, p := range list {
			rk := ranked{p: p}
			if d.health != nil && p >= 0 && p < len(d.s.Pools) {
				rk.key, rk.has = d.health.PoolRTT(p)
			}
			r = append(r, rk)
		}
		sortRanked(r)
		if d.tr != nil {
			d.traceRanked("dynamic latency order", r, "%.1f ms")
		}
	default:
		for _, p := range list {
			r = append(r, ranked{p: p})
		}
	}
	for i := range r {
		if d.usable(r[i].p) && !d.shed(r[i].p) {
			if d.tr != nil {
				d.tr.addf("pool chosen: %s", d.s.Pools[r[i].p].Name)
			}
			return r[i].p
		}
	}
	return -1
}

// random chooses by random_steering weights among the usable pools (ruling 24): a shed pool is
// removed and the draw repeated among the others.
func (d *decider) random(list []int, r []ranked) int {
	for i, p := range list {
		if seenBefore(list, i) || !d.usable(p) {
			continue
		}
		w := d.v.RandomSteering.weight(p)
		if d.tr != nil {
			d.tr.addf("pool %s: weight %.4g", d.s.Pools[p].Name, w)
		}
		if w > 0 {
			r = append(r, ranked{p: p, key: w})
		}
	}
	for len(r) > 0 {
		total := 0.0
		for i := range r {
			total += r[i].key
		}
		x := d.rnd.float() * total
		i := 0
		for ; i < len(r)-1; i++ {
			x -= r[i].key
			if x < 0 {
				break
			}
		}
		p := r[i].p
		if d.tr != nil {
			d.tr.addf("random draw over %d pools (total weight %.4g): %s", len(r), total, d.s.Pools[p].Name)
		}
		if !d.shed(p) {
			return p
		}
		r = append(r[:i], r[i+1:]...)
	}
	return -1
}

// seenBefore reports whether list[i] occurs earlier in list (a pool listed twice counts once).
func seenBefore(list []int, i int) bool {
	for j := 0; j < i; j++ {
		if list[j] == list[i] {
			return true
		}
	}
	return false
}

// fallbackPool is the pool used when no pool of the list can answer (ruling 6): fallback_pool,
// or the last of default_pools; its health is ignored. -1 when it cannot answer either
// (ruling 7).
func (d *decider) fallbackPool() int {
	p := d.v.FallbackPool
	if p < 0 && len(d.v.DefaultPools) > 0 {
		p = d.v.DefaultPools[len(d.v.DefaultPools)-1]
	}
	tr := d.tr
	if p < 0 || p >= len(d.s.Pools) {
		if tr != nil {
			tr.add("fallback: none configured")
		}
		return -1
	}
	pl := &d.s.Pools[p]
	if !pl.Enabled {
		if tr != nil {
			tr.addf("fallback pool %s: disabled", pl.Name)
		}
		return -1
	}
	sc := d.scan(p, true)
	if sc.ip+sc.host == 0 {
		if tr != nil {
			tr.addf("fallback pool %s: no enabled origin with weight > 0 for %s", pl.Name, typeName(d.q.Type))
		}
		return -1
	}
	if tr != nil {
		tr.addf("fallback pool %s: used, health ignored", pl.Name)
	}
	return p
}
