package model

// Refs finds monitors, monitor groups and pools by id or by name. It is built from a catalog
// whose ids are set (after Normalize); an id wins over a name when both match.
type Refs struct {
	monitorIDs, poolIDs, groupIDs       map[string]bool
	monitorNames, poolNames, groupNames map[string][]string // name → ids (several = ambiguous)
}

// NewRefs indexes the monitors and pools of c.
func NewRefs(c *Catalog) *Refs {
	r := &Refs{
		monitorIDs: map[string]bool{}, poolIDs: map[string]bool{}, groupIDs: map[string]bool{},
		monitorNames: map[string][]string{}, poolNames: map[string][]string{}, groupNames: map[string][]string{},
	}
	for _, g := range c.MonitorGroups {
		if g.ID != "" {
			r.groupIDs[g.ID] = true
		}
		if g.Name != "" {
			r.groupNames[g.Name] = append(r.groupNames[g.Name], g.ID)
		}
	}
	for _, m := range c.Monitors {
		if m.ID != "" {
			r.monitorIDs[m.ID] = true
		}
		if m.Name != "" {
			r.monitorNames[m.Name] = append(r.monitorNames[m.Name], m.ID)
		}
	}
	for _, p := range c.Pools {
		if p.ID != "" {
			r.poolIDs[p.ID] = true
		}
		if p.Name != "" {
			r.poolNames[p.Name] = append(r.poolNames[p.Name], p.ID)
		}
	}
	return r
}

// lookup resolves ref among ids, then names. It returns the id, and a message when ref is
// unknown or names several objects.
func lookup(kind, ref string, ids map[string]bool, names map[string][]string) (string, string) {
	if ids[ref] {
		return ref, ""
	}
	switch ns := names[ref]; len(ns) {
	case 0:
		return ref, "unknown " + kind + " " + quote(ref)
	case 1:
		return ns[0], ""
	default:
		return ref, "the name " + quote(ref) + " is shared by several " + kind + "s: use the id"
	}
}

// MonitorID returns the id of the monitor with id or name ref.
func (r *Refs) MonitorID(ref string) (string, bool) {
	id, msg := lookup("monitor", ref, r.monitorIDs, r.monitorNames)
	return id, msg == ""
}

// MonitorGroupID returns the id of the monitor group with id or name ref.
func (r *Refs) MonitorGroupID(ref string) (string, bool) {
	id, msg := lookup("monitor group", ref, r.groupIDs, r.groupNames)
	return id, msg == ""
}

// PoolID returns the id of the pool with id or name ref.
func (r *Refs) PoolID(ref string) (string, bool) {
	id, msg := lookup("pool", ref, r.poolIDs, r.poolNames)
	return id, msg == ""
}

func (r *Refs) pool(ps *Problems, path string, ref *string) {
	id, msg := lookup("pool", *ref, r.poolIDs, r.poolNames)
	if msg != "" {
		ps.Errorf(path, "%s", msg)
		return
	}
	*ref = id
}

func (r *Refs) pools(ps *Problems, path string, refs []string) {
	for i := range refs {
		r.pool(ps, Index(path, i), &refs[i])
	}
}

func (r *Refs) poolMap(ps *Problems, path string, m map[string][]string) {
	for _, k := range sortedKeys(m) {
		r.pools(ps, Key(path, k), m[k])
	}
}

func (r *Refs) weights(ps *Problems, path string, rs *RandomSteering) {
	if rs == nil || len(rs.PoolWeights) == 0 {
		return
	}
	out := make(map[string]float64, len(rs.PoolWeights))
	for _, k := range sortedKeys(rs.PoolWeights) {
		id := k
		r.pool(ps, Key(Field(path, "pool_weights"), k), &id)
		if _, dup := out[id]; dup {
			ps.Errorf(Key(Field(path, "pool_weights"), k), "pool %s has two weights", quote(k))
		}
		out[id] = rs.PoolWeights[k]
	}
	rs.PoolWeights = out
}

// ResolvePool replaces the pool's monitor and monitor_group references (id or name) by the
// ids. path is the pool's path ("pools[2]", or "" for the API).
func ResolvePool(p *Pool, path string, r *Refs) Problems {
	var ps Problems
	if p.Monitor != "" {
		id, msg := lookup("monitor", p.Monitor, r.monitorIDs, r.monitorNames)
		if msg != "" {
			ps.Errorf(Field(path, "monitor"), "%s", msg)
		} else {
			p.Monitor = id
		}
	}
	if p.MonitorGroup != "" {
		id, msg := lookup("monitor group", p.MonitorGroup, r.groupIDs, r.groupNames)
		if msg != "" {
			ps.Errorf(Field(path, "monitor_group"), "%s", msg)
		} else {
			p.MonitorGroup = id
		}
	}
	return ps
}

// ResolveLoadBalancer replaces every pool reference of lb (default_pools, fallback_pool, the
// geo maps, random_steering.pool_weights keys, and the same fields of rule overrides) by the
// pool's id, and sets an empty fallback_pool to the last default pool (ruling 6).
func ResolveLoadBalancer(lb *LoadBalancer, path string, r *Refs) Problems {
	var ps Problems
	r.pools(&ps, Field(path, "default_pools"), lb.DefaultPools)
	if lb.FallbackPool != "" {
		r.pool(&ps, Field(path, "fallback_pool"), &lb.FallbackPool)
	} else if n := len(lb.DefaultPools); n > 0 && r.poolIDs[lb.DefaultPools[n-1]] {
		lb.FallbackPool = lb.DefaultPools[n-1] // ruling 6; only once it names a known pool
	}
	r.poolMap(&ps, Field(path, "region_pools"), lb.RegionPools)
	r.poolMap(&ps, Field(path, "country_pools"), lb.CountryPools)
	r.poolMap(&ps, Field(path, "pop_pools"), lb.PopPools)
	r.weights(&ps, Field(path, "random_steering"), lb.RandomSteering)
	for i, rule := range lb.Rules {
		if rule == nil {
			continue
		}
		op := Field(Index(Field(path, "rules"), i), "overrides")
		o := &rule.Overrides
		r.pools(&ps, Field(op, "default_pools"), o.DefaultPools)
		if o.FallbackPool != "" {
			r.pool(&ps, Field(op, "fallback_pool"), &o.FallbackPool)
		}
		r.poolMap(&ps, Field(op, "region_pools"), o.RegionPools)
		r.poolMap(&ps, Field(op, "country_pools"), o.CountryPools)
		r.poolMap(&ps, Field(op, "pop_pools"), o.PopPools)
		r.weights(&ps, Field(op, "random_steering"), o.RandomSteering)
	}
	return ps
}

// Resolve turns every reference by name into an id (monitor group members' monitor_id,
// pool.monitor, pool.monitor_group and all pool references of load balancers, see
// ResolveLoadBalancer). Call it after Normalize. An unknown reference is left as it is and
// reported with its path.
func (c *Catalog) Resolve() Problems {
	r := NewRefs(c)
	var ps Problems
	for i := range c.MonitorGroups {
		ps.Add(ResolveMonitorGroup(&c.MonitorGroups[i], Index("monitor_groups", i), r))
	}
	for i := range c.Pools {
		ps.Add(ResolvePool(&c.Pools[i], Index("pools", i), r))
	}
	for i := range c.LoadBalancers {
		ps.Add(ResolveLoadBalancer(&c.LoadBalancers[i], Index("load_balancers", i), r))
	}
	return ps
}
