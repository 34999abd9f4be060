package model

import "strings"

// Catalog is the complete set of load-balancing objects one lbdns instance serves: those of
// the config file and those created through the API. The usual life of a catalog is
// Normalize (defaults and ids) → Resolve (names → ids) → Validate.
type Catalog struct {
	Monitors      []Monitor      `json:"monitors"`
	MonitorGroups []MonitorGroup `json:"monitor_groups,omitempty"`
	Pools         []Pool         `json:"pools"`
	LoadBalancers []LoadBalancer `json:"load_balancers"`
}

// Monitor returns the monitor with the given id, or nil.
func (c *Catalog) Monitor(id string) *Monitor {
	for i := range c.Monitors {
		if c.Monitors[i].ID == id {
			return &c.Monitors[i]
		}
	}
	return nil
}

// Pool returns the pool with the given id, or nil.
func (c *Catalog) Pool(id string) *Pool {
	for i := range c.Pools {
		if c.Pools[i].ID == id {
			return &c.Pools[i]
		}
	}
	return nil
}

// LoadBalancer returns the load balancer with the given id, or nil.
func (c *Catalog) LoadBalancer(id string) *LoadBalancer {
	for i := range c.LoadBalancers {
		if c.LoadBalancers[i].ID == id {
			return &c.LoadBalancers[i]
		}
	}
	return nil
}

// Normalize fills every omitted field with its default (see NormalizeMonitor, NormalizePool,
// NormalizeLoadBalancer) and derives missing ids from names. It never fails: what it cannot
// fix is left for Validate.
func (c *Catalog) Normalize() {
	for i := range c.Monitors {
		NormalizeMonitor(&c.Monitors[i])
		if c.Monitors[i].ID == "" && c.Monitors[i].Name != "" {
			c.Monitors[i].ID = DeriveID(KindMonitor, c.Monitors[i].Name)
		}
	}
	for i := range c.MonitorGroups {
		NormalizeMonitorGroup(&c.MonitorGroups[i])
		if c.MonitorGroups[i].ID == "" && c.MonitorGroups[i].Name != "" {
			c.MonitorGroups[i].ID = DeriveID(KindMonitorGroup, c.MonitorGroups[i].Name)
		}
	}
	for i := range c.Pools {
		NormalizePool(&c.Pools[i])
		if c.Pools[i].ID == "" && c.Pools[i].Name != "" {
			c.Pools[i].ID = DeriveID(KindPool, c.Pools[i].Name)
		}
	}
	for i := range c.LoadBalancers {
		NormalizeLoadBalancer(&c.LoadBalancers[i])
		if c.LoadBalancers[i].ID == "" && c.LoadBalancers[i].Name != "" {
			c.LoadBalancers[i].ID = DeriveID(KindLoadBalancer, c.LoadBalancers[i].Name)
		}
	}
}

// NormalizeMonitor fills a monitor's defaults (ruling 14): type http; method GET for http(s)
// and connection_established for tcp; path "/" and expected_codes "200" for http(s);
// timeout 5, interval 60, retries 2, consecutive_up 1, consecutive_down 1. Port 0 stays 0 and
// means the type's default port (80, 443, 25). Negative values are left for Validate.
func NormalizeMonitor(m *Monitor) {
	if m.Type == "" {
		m.Type = MonitorHTTP
	}
	switch m.Type {
	case MonitorHTTP, MonitorHTTPS:
		if m.Method == "" {
			m.Method = "GET"
		}
		if m.Path == "" {
			m.Path = DefaultPath
		}
		if m.ExpectedCodes == "" {
			m.ExpectedCodes = DefaultExpectedCodes
		}
	case MonitorTCP:
		if m.Method == "" {
			m.Method = MethodConnectionEstablished
		}
	}
	if m.Timeout == 0 {
		m.Timeout = DefaultTimeout
	}
	if m.Interval == 0 {
		m.Interval = DefaultInterval
	}
	if m.Retries == nil {
		m.Retries = Ptr(DefaultRetries)
	}
	if m.ConsecutiveUp == 0 {
		m.ConsecutiveUp = DefaultConsecutiveUp
	}
	if m.ConsecutiveDown == 0 {
		m.ConsecutiveDown = DefaultConsecutiveDown
	}
}

// MethodConnectionEstablished is the only method of tcp monitors (Cloudflare's spelling).
const MethodConnectionEstablished = "connection_established"

// DefaultMonitorMethod is the method NormalizeMonitor gives a monitor of type typ that has
// none: GET for http(s), connection_established for tcp, none for the other types.
func DefaultMonitorMethod(typ string) string {
	switch typ {
	case "", MonitorHTTP, MonitorHTTPS:
		return "GET"
	case MonitorTCP:
		return MethodConnectionEstablished
	}
	return ""
}

// RetypedMonitorMethod is the method a monitor keeps when a PATCH changes its type from
// oldType to newType without giving a method: the stored method when it was chosen for the
// old type and still means something for the new one (HEAD from http to https), else ""
// so that NormalizeMonitor gives the new type's default (GET on http → tcp becomes
// connection_established, connection_established on tcp → http becomes GET). Type-dependent
// defaults follow the type, as on a monitor created with the new type.
func RetypedMonitorMethod(oldType, oldMethod, newType string) string {
	if oldMethod == DefaultMonitorMethod(oldType) {
		return ""
	}
	switch newType {
	case "", MonitorHTTP, MonitorHTTPS:
		if isToken(oldMethod) && oldMethod != MethodConnectionEstablished {
			return oldMethod
		}
	case MonitorTCP:
		if oldMethod == MethodConnectionEstablished {
			return oldMethod
		}
	}
	return ""
}

// NormalizePool fills a pool's defaults: enabled true, minimum_origins 1, origin_steering
// policy random (ruling 2), load_shedding policies random/hash when the object is present,
// and for every origin enabled true and weight 1.
func NormalizePool(p *Pool) {
	if p.Enabled == nil {
		p.Enabled = Ptr(true)
	}
	if p.MinimumOrigins == nil {
		p.MinimumOrigins = Ptr(DefaultMinimumOrigins)
	}
	if p.OriginSteering == nil {
		p.OriginSteering = &OriginSteering{}
	}
	if p.OriginSteering.Policy == "" {
		p.OriginSteering.Policy = OriginRandom
	}
	if ls := p.LoadShedding; ls != nil {
		if ls.DefaultPolicy == "" {
			ls.DefaultPolicy = SheddingRandom
		}
		if ls.SessionPolicy == "" {
			ls.SessionPolicy = SheddingHash
		}
	}
	for i := range p.Origins {
		o := &p.Origins[i]
		if o.Enabled == nil {
			o.Enabled = Ptr(true)
		}
		if o.Weight == nil {
			o.Weight = Ptr(DefaultOriginWeight)
		}
	}
}

// Load shedding policies (ruling 16).
const (
	SheddingRandom = "random"
	SheddingHash   = "hash"
)

// Session affinity values. Only ip_cookie has an effect (ruling 17).
const (
	AffinityNone     = "none"
	AffinityCookie   = "cookie"
	AffinityIPCookie = "ip_cookie"
	AffinityHeader   = "header"
)

// location_strategy values (ruling 11).
const (
	PreferECSAlways    = "always"
	PreferECSNever     = "never"
	PreferECSProximity = "proximity"
	PreferECSGeo       = "geo"
	ModePoP            = "pop"
	ModeResolverIP     = "resolver_ip"
)

// NormalizeLoadBalancer fills a load balancer's defaults: the name is lower-cased without a
// trailing dot; enabled true; ttl 30 (ruling 20); session_affinity "none";
// location_strategy {prefer_ecs: proximity, mode: pop} (ruling 11); random_steering
// default_weight 1 when the object is present (ruling 24). Rule overrides are left as they
// are: an omitted override means "not overridden". The fallback pool default (ruling 6) needs
// the resolved default_pools and is filled by Resolve.
func NormalizeLoadBalancer(lb *LoadBalancer) {
	lb.Name = NormalizeName(lb.Name)
	if lb.Enabled == nil {
		lb.Enabled = Ptr(true)
	}
	if lb.TTL == nil {
		lb.TTL = Ptr(DefaultTTL)
	}
	if lb.SessionAffinity == "" {
		lb.SessionAffinity = AffinityNone
	}
	if lb.LocationStrategy == nil {
		lb.LocationStrategy = &LocationStrategy{}
	}
	if lb.LocationStrategy.PreferECS == "" {
		lb.LocationStrategy.PreferECS = DefaultPreferECS
	}
	if lb.LocationStrategy.Mode == "" {
		lb.LocationStrategy.Mode = DefaultLocationMode
	}
	if rs := lb.RandomSteering; rs != nil && rs.DefaultWeight == nil {
		rs.DefaultWeight = Ptr(DefaultPoolWeight)
	}
	for _, r := range lb.Rules {
		if r == nil {
			continue
		}
		if rs := r.Overrides.RandomSteering; rs != nil && rs.DefaultWeight == nil {
			rs.DefaultWeight = Ptr(DefaultPoolWeight)
		}
	}
}

// NormalizeName lower-cases a DNS name and removes one trailing dot ("WWW.Example.com." →
// "www.example.com"). Load balancer and zone names are kept in this form.
func NormalizeName(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}
