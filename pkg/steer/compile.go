package steer

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/lbdns/lbdns/pkg/model"
)

// Options configure Compile.
type Options struct {
	// PoP is this instance's server.pop: the location of mode "pop" and the key of pop_pools.
	PoP model.PoP
	// Regions, when set, maps a country and subdivision to a region code ahead of the region
	// carried by the GeoIP record and the built-in table (config geoip.regions). An empty
	// result means "no override".
	Regions func(country, subdivision string) string
}

// Compile turns a normalised, resolved catalog into a Set. References are pool ids (names are
// accepted too). Errors name the object and field; all of them are reported, joined.
func Compile(cat *model.Catalog, opts Options) (*Set, error) {
	s := &Set{
		byName:  map[string]int{},
		byPool:  map[string]int{},
		pop:     compilePoP(opts),
		regions: opts.Regions,
	}
	if s.pop.Region == "" {
		s.pop.Region = s.region(s.pop.Country, "", "")
	}
	if cat == nil {
		return s, nil
	}
	var errs []error
	monitors := map[string]string{}
	for i := range cat.Monitors {
		m := &cat.Monitors[i]
		monitors[m.ID] = m.Type
		if m.Name != "" {
			if _, dup := monitors[m.Name]; !dup {
				monitors[m.Name] = m.Type
			}
		}
	}
	// A monitor group has the type its enabled members share ("" when they differ): only
	// smtp matters (mail load balancers).
	for _, g := range cat.MonitorGroups {
		typ, first := "", true
		for _, mb := range g.Members {
			if !model.Bool(mb.Enabled, true) {
				continue
			}
			t := monitors[mb.MonitorID]
			if first {
				typ, first = t, false
			} else if t != typ {
				typ = ""
			}
		}
		monitors[groupKey+g.ID] = typ
	}
	names := map[string]int{}
	for i := range cat.Pools {
		p, err := compilePool(&cat.Pools[i], monitors)
		if err != nil {
			errs = append(errs, fmt.Errorf("pools[%d] (%s): %w", i, cat.Pools[i].Name, err))
		}
		if _, dup := s.byPool[p.ID]; dup && p.ID != "" {
			errs = append(errs, fmt.Errorf("pools[%d] (%s): duplicate id %q", i, p.Name, p.ID))
		}
		s.byPool[p.ID] = i
		if p.Name != "" {
			if _, dup := names[p.Name]; !dup {
				names[p.Name] = i
			}
		}
		s.Pools = append(s.Pools, p)
	}
	for name, i := range names {
		if _, ok := s.byPool[name]; !ok {
			s.byPool[name] = i
		}
	}
	for i := range cat.LoadBalancers {
		m := &cat.LoadBalancers[i]
		lb, err := s.compileLB(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("load_balancers[%d] (%s): %w", i, m.Name, err))
			continue
		}
		if _, dup := s.byName[lb.Name]; dup {
			errs = append(errs, fmt.Errorf("load_balancers[%d]: duplicate name %q", i, lb.Name))
			continue
		}
		s.byName[lb.Name] = len(s.LBs)
		s.LBs = append(s.LBs, lb)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func compilePoP(opts Options) popInfo {
	p := opts.PoP
	pi := popInfo{Code: strings.ToUpper(p.Code)}
	pi.Country = strings.ToUpper(p.Country)
	pi.Region = strings.ToUpper(p.Region)
	if p.Latitude != nil && p.Longitude != nil {
		pi.Lat, pi.Lon, pi.HasCoords = *p.Latitude, *p.Longitude, true
	}
	return pi
}

// LB returns the index of the load balancer with the given name (lowercase FQDN with trailing
// dot; "*.x.example." for a wildcard LB), or -1.
func (s *Set) LB(name string) int {
	if s == nil {
		return -1
	}
	if i, ok := s.byName[name]; ok {
		return i
	}
	if n := fqdn(name); n != name {
		if i, ok := s.byName[n]; ok {
			return i
		}
	}
	return -1
}

// Pool returns the index of the pool with the given id (or name), or -1.
func (s *Set) Pool(id string) int {
	if s == nil {
		return -1
	}
	if i, ok := s.byPool[id]; ok {
		return i
	}
	return -1
}

// fqdn lower-cases a name and ensures one trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// groupKey prefixes monitor group ids in the monitor type map of Compile.
const groupKey = "group\x00"

func compilePool(m *model.Pool, monitors map[string]string) (Pool, error) {
	p := Pool{
		ID:             m.ID,
		Name:           m.Name,
		Enabled:        model.Bool(m.Enabled, true),
		Monitored:      m.Monitor != "" || m.MonitorGroup != "",
		MinimumOrigins: model.DefaultMinimumOrigins,
		seed:           hashString("pool:" + m.ID + ":" + m.Name),
	}
	switch {
	case m.Monitor != "":
		p.MonitorType = monitors[m.Monitor]
	case m.MonitorGroup != "":
		p.MonitorType = monitors[groupKey+m.MonitorGroup]
	}
	if m.MinimumOrigins != nil {
		p.MinimumOrigins = *m.MinimumOrigins
	}
	if m.Latitude != nil && m.Longitude != nil {
		p.Lat, p.Lon, p.HasCoords = *m.Latitude, *m.Longitude, true
	}
	var errs []error
	if ls := m.LoadShedding; ls != nil {
		p.Shedding = Shedding{
			DefaultPercent: ls.DefaultPercent,
			DefaultHash:    ls.DefaultPolicy == model.SheddingHash,
			SessionPercent: ls.SessionPercent,
		}
		switch ls.DefaultPolicy {
		case "", model.SheddingRandom, model.SheddingHash:
		default:
			errs = append(errs, fmt.Errorf("load_shedding.default_policy: unknown %q", ls.DefaultPolicy))
		}
	}
	if os := m.OriginSteering; os != nil {
		switch os.Policy {
		case "", model.OriginRandom:
			p.OriginPolicy = OriginRandom
		case model.OriginHash:
			p.OriginPolicy = OriginHash
		case model.OriginLeastOutstanding:
			p.OriginPolicy = OriginLeastOutstanding
		case model.OriginLeastConnections:
			p.OriginPolicy = OriginLeastConnections
		default:
			errs = append(errs, fmt.Errorf("origin_steering.policy: unknown %q", os.Policy))
		}
	}
	p.Origins = make([]Origin, 0, len(m.Origins))
	for i := range m.Origins {
		mo := &m.Origins[i]
		o := Origin{
			Name:    mo.Name,
			Port:    mo.Port,
			Weight:  model.DefaultOriginWeight,
			Enabled: model.Bool(mo.Enabled, true),
		}
		if mo.Weight != nil {
			o.Weight = *mo.Weight
		}
		if !(o.Weight >= 0) { // also NaN
			errs = append(errs, fmt.Errorf("origins[%d].weight: %v is negative", i, o.Weight))
			o.Weight = 0
		}
		addr := strings.TrimSpace(mo.Address)
		if ip, err := netip.ParseAddr(addr); err == nil {
			o.Addr = ip.Unmap().WithZone("")
			o.fam = famV6
			if o.Addr.Is4() {
				o.fam = famV4
			}
		} else if addr != "" && !strings.ContainsAny(addr, " /:") {
			o.Host = fqdn(addr)
			o.fam = famHost
		} else {
			errs = append(errs, fmt.Errorf("origins[%d].address: %q is neither an IP address nor a hostname", i, mo.Address))
			o.Enabled = false
		}
		o.seed = hashString("origin:" + mo.Name + "\x00" + o.Address())
		p.Origins = append(p.Origins, o)
	}
	return p, errors.Join(errs...)
}

func (s *Set) poolIndex(ref string) (int, error) {
	if i, ok := s.byPool[ref]; ok {
		return i, nil
	}
	return -1, fmt.Errorf("unknown pool %q", ref)
}

func (s *Set) poolList(field string, refs []string, errs *[]error) []int {
	if refs == nil {
		return nil
	}
	out := make([]int, 0, len(refs))
	for i, r := range refs {
		p, err := s.poolIndex(r)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s[%d]: %w", field, i, err))
			continue
		}
		out = append(out, p)
	}
	return out
}

func (s *Set) poolMap(field string, m map[string][]string, errs *[]error) map[string][]int {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]int, len(m))
	for k, refs := range m {
		key := strings.ToUpper(strings.TrimSpace(k))
		out[key] = s.poolList(field+"."+k, refs, errs)
		if out[key] == nil {
			out[key] = []int{}
		}
	}
	return out
}

func (s *Set) randomSteering(field string, rs *model.RandomSteering, errs *[]error) *RandomSteering {
	if rs == nil {
		return nil
	}
	r := &RandomSteering{DefaultWeight: model.DefaultPoolWeight}
	if rs.DefaultWeight != nil {
		r.DefaultWeight = *rs.DefaultWeight
	}
	if !(r.DefaultWeight >= 0) {
		*errs = append(*errs, fmt.Errorf("%s.default_weight: %v is negative", field, r.DefaultWeight))
		r.DefaultWeight = 0
	}
	if len(rs.PoolWeights) > 0 {
		r.PoolWeights = make(map[int]float64, len(rs.PoolWeights))
		for ref, w := range rs.PoolWeights {
			p, err := s.poolIndex(ref)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("%s.pool_weights: %w", field, err))
				continue
			}
			if !(w >= 0) {
				*errs = append(*errs, fmt.Errorf("%s.pool_weights[%s]: %v is negative", field, ref, w))
				w = 0
			}
			r.PoolWeights[p] = w
		}
	}
	return r
}

func parsePolicy(v string) (Policy, error) {
	for i, n := range policyNames {
		if v == n {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown steering_policy %q", v)
}

func parseLocation(ls *model.LocationStrategy) (PreferECS, LocationMode, error) {
	if ls == nil {
		return PreferECSProximity, ModePoP, nil
	}
	var p PreferECS
	var m LocationMode
	switch ls.PreferECS {
	case "", model.PreferECSProximity:
		p = PreferECSProximity
	case model.PreferECSAlways:
		p = PreferECSAlways
	case model.PreferECSNever:
		p = PreferECSNever
	case model.PreferECSGeo:
		p = PreferECSGeo
	default:
		return 0, 0, fmt.Errorf("location_strategy.prefer_ecs: unknown %q", ls.PreferECS)
	}
	switch ls.Mode {
	case "", model.ModePoP:
		m = ModePoP
	case model.ModeResolverIP:
		m = ModeResolverIP
	default:
		return 0, 0, fmt.Errorf("location_strategy.mode: unknown %q", ls.Mode)
	}
	return p, m, nil
}

func parseAffinity(v string) (Affinity, error) {
	switch v {
	case "", model.AffinityNone:
		return AffinityNone, nil
	case model.AffinityCookie:
		return AffinityCookie, nil
	case model.AffinityIPCookie:
		return AffinityIPCookie, nil
	case model.AffinityHeader:
		return AffinityHeader, nil
	}
	return 0, fmt.Errorf("unknown session_affinity %q", v)
}

func ttlOf(field string, v *int, errs *[]error) uint32 {
	if v == nil {
		return model.DefaultTTL
	}
	if *v < model.MinTTL || *v > model.MaxTTL {
		*errs = append(*errs, fmt.Errorf("%s: %d is outside %d..%d", field, *v, model.MinTTL, model.MaxTTL))
		return model.DefaultTTL
	}
	return uint32(*v)
}

func (s *Set) compileLB(m *model.LoadBalancer) (LB, error) {
	var errs []error
	lb := LB{
		ID:      m.ID,
		Name:    fqdn(m.Name),
		Enabled: model.Bool(m.Enabled, true),
	}
	if m.Name == "" {
		errs = append(errs, errors.New("name: empty"))
	}
	lb.Wildcard = strings.HasPrefix(lb.Name, "*.")
	if m.Proxied {
		errs = append(errs, errors.New("proxied: true is not supported (lbdns is DNS-only)"))
	}
	v := &lb.Settings
	var err error
	if v.Policy, err = parsePolicy(m.SteeringPolicy); err != nil {
		errs = append(errs, err)
	}
	v.TTL = ttlOf("ttl", m.TTL, &errs)
	v.DefaultPools = s.poolList("default_pools", m.DefaultPools, &errs)
	v.FallbackPool = -1
	if m.FallbackPool != "" {
		if v.FallbackPool, err = s.poolIndex(m.FallbackPool); err != nil {
			errs = append(errs, fmt.Errorf("fallback_pool: %w", err))
		}
	}
	v.PopPools = s.poolMap("pop_pools", m.PopPools, &errs)
	v.CountryPools = s.poolMap("country_pools", m.CountryPools, &errs)
	v.RegionPools = s.poolMap("region_pools", m.RegionPools, &errs)
	v.RandomSteering = s.randomSteering("random_steering", m.RandomSteering, &errs)
	if v.PreferECS, v.Mode, err = parseLocation(m.LocationStrategy); err != nil {
		errs = append(errs, err)
	}
	if v.SessionAffinity, err = parseAffinity(m.SessionAffinity); err != nil {
		errs = append(errs, fmt.Errorf("session_affinity: %w", err))
	}

	// Rules: priority order when any rule has a priority, else array order (stable sort keeps
	// array order among equal priorities either way).
	for i, mr := range m.Rules {
		if mr == nil || mr.Disabled {
			continue
		}
		r, rerrs := s.compileRule(fmt.Sprintf("rules[%d]", i), mr)
		errs = append(errs, rerrs...)
		lb.Rules = append(lb.Rules, r)
	}
	sort.SliceStable(lb.Rules, func(i, j int) bool { return lb.Rules[i].Priority < lb.Rules[j].Priority })

	lb.Service = s.service(&lb)
	lb.HostMX = lb.Service == ServeAddr && s.allHosts(&lb)
	return lb, errors.Join(errs...)
}

func (s *Set) compileRule(field string, mr *model.Rule) (Rule, []error) {
	var errs []error
	r := Rule{Name: mr.Name, Condition: mr.Condition, Priority: mr.Priority, Terminates: mr.Terminates}
	r.Overrides.FallbackPool = -1
	cond, err := compileCondition(mr.Condition)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.condition: %w", field, err))
		cond = nil
	}
	r.cond = cond
	if mr.FixedResponse != nil {
		errs = append(errs, fmt.Errorf("%s.fixed_response: HTTP-only, not supported by a DNS-only load balancer", field))
	}
	o := &mr.Overrides
	v := &r.Overrides
	if o.SteeringPolicy != nil {
		r.Mask |= OverridePolicy
		if v.Policy, err = parsePolicy(*o.SteeringPolicy); err != nil {
			errs = append(errs, fmt.Errorf("%s.overrides.%w", field, err))
		}
	}
	if o.TTL != nil {
		r.Mask |= OverrideTTL
		v.TTL = ttlOf(field+".overrides.ttl", o.TTL, &errs)
	}
	if o.DefaultPools != nil {
		r.Mask |= OverrideDefaultPools
		v.DefaultPools = s.poolList(field+".overrides.default_pools", o.DefaultPools, &errs)
	}
	if o.FallbackPool != "" {
		r.Mask |= OverrideFallbackPool
		if v.FallbackPool, err = s.poolIndex(o.FallbackPool); err != nil {
			errs = append(errs, fmt.Errorf("%s.overrides.fallback_pool: %w", field, err))
		}
	}
	if o.PopPools != nil {
		r.Mask |= OverridePopPools
		v.PopPools = s.poolMap(field+".overrides.pop_pools", o.PopPools, &errs)
	}
	if o.CountryPools != nil {
		r.Mask |= OverrideCountryPools
		v.CountryPools = s.poolMap(field+".overrides.country_pools", o.CountryPools, &errs)
	}
	if o.RegionPools != nil {
		r.Mask |= OverrideRegionPools
		v.RegionPools = s.poolMap(field+".overrides.region_pools", o.RegionPools, &errs)
	}
	if o.RandomSteering != nil {
		r.Mask |= OverrideRandomSteering
		v.RandomSteering = s.randomSteering(field+".overrides.random_steering", o.RandomSteering, &errs)
	}
	if o.LocationStrategy != nil {
		r.Mask |= OverrideLocationStrategy
		if v.PreferECS, v.Mode, err = parseLocation(o.LocationStrategy); err != nil {
			errs = append(errs, fmt.Errorf("%s.overrides.%w", field, err))
		}
	}
	if o.SessionAffinity != "" {
		r.Mask |= OverrideSessionAffinity
		if v.SessionAffinity, err = parseAffinity(o.SessionAffinity); err != nil {
			errs = append(errs, fmt.Errorf("%s.overrides.session_affinity: %w", field, err))
		}
	}
	return r, errs
}

// service classifies a load balancer (see Service).
func (s *Set) service(lb *LB) Service {
	if isServiceName(lb.Name) {
		return ServeSRV
	}
	pools := s.reachablePools(lb)
	hosts, port25, smtp := 0, 0, false
	total := 0
	for p := range pools {
		pl := &s.Pools[p]
		if pl.MonitorType == model.MonitorSMTP {
			smtp = true
		}
		for i := range pl.Origins {
			o := &pl.Origins[i]
			total++
			if o.fam == famHost {
				hosts++
				if o.Port == 25 {
					port25++
				}
			}
		}
	}
	if total > 0 && hosts == total && (smtp || port25 == total) {
		return ServeMX
	}
	return ServeAddr
}

// allHosts reports whether every origin of every pool lb can reach is a hostname.
func (s *Set) allHosts(lb *LB) bool {
	total := 0
	for p := range s.reachablePools(lb) {
		for i := range s.Pools[p].Origins {
			if s.Pools[p].Origins[i].fam != famHost {
				return false
			}
			total++
		}
	}
	return total > 0
}

// isServiceName reports whether name starts with two underscore labels (`_sip._tcp.`).
func isServiceName(name string) bool {
	name = strings.TrimPrefix(name, "*.")
	first, rest, ok := strings.Cut(name, ".")
	if !ok || len(first) < 2 || first[0] != '_' {
		return false
	}
	second, _, ok := strings.Cut(rest, ".")
	return ok && len(second) >= 2 && second[0] == '_'
}

// reachablePools is every pool an LB can answer from.
func (s *Set) reachablePools(lb *LB) map[int]bool {
	set := map[int]bool{}
	add := func(v *Settings) {
		for _, p := range v.DefaultPools {
			set[p] = true
		}
		if v.FallbackPool >= 0 {
			set[v.FallbackPool] = true
		}
		for _, m := range []map[string][]int{v.PopPools, v.CountryPools, v.RegionPools} {
			for _, l := range m {
				for _, p := range l {
					set[p] = true
				}
			}
		}
	}
	add(&lb.Settings)
	for i := range lb.Rules {
		add(&lb.Rules[i].Overrides)
	}
	delete(set, -1)
	return set
}

// region is the region of a country/subdivision: the Options.Regions override, else the region
// the GeoIP record carries, else the built-in table.
func (s *Set) region(country, subdivision, fromGeo string) string {
	if s.regions != nil && country != "" {
		if r := s.regions(country, subdivision); r != "" {
			return r
		}
	}
	if fromGeo != "" {
		return fromGeo
	}
	if country == "" {
		return ""
	}
	return regionOf(country, subdivision)
}
