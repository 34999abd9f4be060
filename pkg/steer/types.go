package steer

import (
	"math/rand/v2"
	"net/netip"
)

// State is the health of one origin as the prober sees it.
type State uint8

// Origin states. Unknown is the zero value: a monitored origin not probed yet (ruling 8).
const (
	Unknown State = iota
	Up
	Down
)

func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	default:
		return "unknown"
	}
}

// Health is the health view steering reads. Indices are those of Set.Pools and Pool.Origins.
type Health interface {
	Origin(pool, origin int) State
	// PoolRTT is the pool's round-trip time for dynamic_latency (ruling 12); ok=false when
	// there is no measurement.
	PoolRTT(pool int) (ms float64, ok bool)
}

// HealthDescriber is optionally implemented by a Health to add evidence (reason, age of the
// last result, …) to a Trace. It is called only when tracing.
type HealthDescriber interface {
	DescribeOrigin(pool, origin int) string
}

// Locator finds the location of an address (GeoIP). A failed lookup returns ok=false.
type Locator interface {
	Lookup(ip netip.Addr) (Location, bool)
}

// Env is what a decision reads besides the compiled set and the query.
type Env struct {
	Geo    Locator     // nil: every lookup fails (ruling 10)
	Health Health      // nil: every origin Unknown
	Rand   rand.Source // per-query randomness; nil: every draw is 0
}

// Query is the question being answered.
type Query struct {
	Name   string       // the owner name being answered (lowercase FQDN)
	Type   uint16       // qtype
	Source netip.Addr   // the resolver's address
	ECS    netip.Prefix // EDNS Client Subnet address and source prefix length
	HasECS bool
}

// Kind is what a decision answers with.
type Kind uint8

// Decision kinds.
const (
	None  Kind = iota // NODATA
	Addrs             // A or AAAA records of Decision.Origins
	CNAME             // one CNAME to the hostname of Decision.Origins[0]
	MX                // one MX record per origin, preference 10
	SRV               // one SRV record per origin
)

func (k Kind) String() string {
	switch k {
	case Addrs:
		return "addresses"
	case CNAME:
		return "CNAME"
	case MX:
		return "MX"
	case SRV:
		return "SRV"
	default:
		return "NODATA"
	}
}

// Decision is the outcome of Decide. Decide resets every field; Origins keeps its capacity so a
// caller reusing one Decision does not allocate.
type Decision struct {
	Kind     Kind
	Pool     int   // index into Set.Pools; -1 when no pool was chosen
	Origins  []int // indices into Set.Pools[Pool].Origins, in answer order
	TTL      uint32
	Scope    int  // ECS scope prefix length (ruling 11); meaningful when the query had ECS
	Fallback bool // the pool is the fallback pool, used because no other pool could answer
}

// Service is what kind of records a load balancer serves (ruling 5, 21):
//
//   - ServeAddr: A, AAAA and CNAME (the usual LB).
//   - ServeSRV: the LB name starts with two underscore labels (`_service._proto.`, RFC 2782);
//     it answers SRV only: target = origin address (a hostname), port = origin port (origins
//     without a port or with an IP address are not eligible).
//   - ServeMX: every origin of every pool the LB can reach (default, fallback, geo maps, rule
//     overrides) is a hostname, and the origins are marked as mail exchangers: at least one of
//     those pools is monitored by an `smtp` monitor, or every origin has port 25. It answers
//     MX only (preference 10), so A/AAAA at a mail domain's apex keep coming from the zone.
//   - An address LB whose origins are all hostnames but not marked as mail exchangers answers
//     A/AAAA/CNAME with the CNAME of ruling 1 and MX with the hostnames as exchangers
//     (ruling 5); see LB.HostMX.
//
// An LB owns only the types of its service; other types come from zone data.
type Service uint8

// Service values.
const (
	ServeAddr Service = iota
	ServeMX
	ServeSRV
)

func (s Service) String() string {
	switch s {
	case ServeMX:
		return "MX"
	case ServeSRV:
		return "SRV"
	default:
		return "A/AAAA/CNAME"
	}
}

// Policy is a global steering policy (LB `steering_policy`).
type Policy uint8

// Policies. PolicyDefault ("") resolves per decision: geo when any geo map is set, else off.
const (
	PolicyDefault Policy = iota
	PolicyOff
	PolicyGeo
	PolicyRandom
	PolicyDynamicLatency
	PolicyProximity
	PolicyLeastOutstanding
	PolicyLeastConnections
)

var policyNames = [...]string{"", "off", "geo", "random", "dynamic_latency", "proximity",
	"least_outstanding_requests", "least_connections"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		if p == PolicyDefault {
			return `""`
		}
		return policyNames[p]
	}
	return "?"
}

// OriginPolicy is a pool's origin_steering.policy.
type OriginPolicy uint8

// Origin policies; least_* behave as random (ruling 2).
const (
	OriginRandom OriginPolicy = iota
	OriginHash
	OriginLeastOutstanding
	OriginLeastConnections
)

var originPolicyNames = [...]string{"random", "hash", "least_outstanding_requests", "least_connections"}

func (p OriginPolicy) String() string {
	if int(p) < len(originPolicyNames) {
		return originPolicyNames[p]
	}
	return "?"
}

// PreferECS is location_strategy.prefer_ecs.
type PreferECS uint8

// prefer_ecs values; the zero value is the default "proximity" (ruling 11).
const (
	PreferECSProximity PreferECS = iota
	PreferECSAlways
	PreferECSNever
	PreferECSGeo
)

var preferNames = [...]string{"proximity", "always", "never", "geo"}

func (p PreferECS) String() string {
	if int(p) < len(preferNames) {
		return preferNames[p]
	}
	return "?"
}

// LocationMode is location_strategy.mode.
type LocationMode uint8

// Modes; the zero value is the default "pop" (ruling 11).
const (
	ModePoP LocationMode = iota
	ModeResolverIP
)

func (m LocationMode) String() string {
	if m == ModeResolverIP {
		return "resolver_ip"
	}
	return "pop"
}

// Affinity is session_affinity. Only ip_cookie changes a DNS answer (ruling 17).
type Affinity uint8

// Affinities.
const (
	AffinityNone Affinity = iota
	AffinityCookie
	AffinityIPCookie
	AffinityHeader
)

var affinityNames = [...]string{"none", "cookie", "ip_cookie", "header"}

func (a Affinity) String() string {
	if int(a) < len(affinityNames) {
		return affinityNames[a]
	}
	return "?"
}

// RandomSteering is a compiled random_steering: weights by pool index.
type RandomSteering struct {
	DefaultWeight float64
	PoolWeights   map[int]float64
}

func (r *RandomSteering) weight(pool int) float64 {
	if r == nil {
		return 1
	}
	if w, ok := r.PoolWeights[pool]; ok {
		return w
	}
	return r.DefaultWeight
}

// Settings are the load balancer fields that rules can override. Pool lists hold indices into
// Set.Pools, in failover order.
type Settings struct {
	Policy          Policy
	TTL             uint32
	DefaultPools    []int
	FallbackPool    int // -1: not set, the last of DefaultPools is the fallback (ruling 6)
	PopPools        map[string][]int
	CountryPools    map[string][]int // keys upper case
	RegionPools     map[string][]int // keys upper case
	RandomSteering  *RandomSteering  // nil: every pool weighs 1
	PreferECS       PreferECS
	Mode            LocationMode
	SessionAffinity Affinity
}

// Override bits: which Settings fields a rule replaces.
type Override uint16

// Override bits.
const (
	OverridePolicy Override = 1 << iota
	OverrideTTL
	OverrideDefaultPools
	OverrideFallbackPool
	OverridePopPools
	OverrideCountryPools
	OverrideRegionPools
	OverrideRandomSteering
	OverrideLocationStrategy
	OverrideSessionAffinity
)

var overrideNames = [...]string{"steering_policy", "ttl", "default_pools", "fallback_pool",
	"pop_pools", "country_pools", "region_pools", "random_steering", "location_strategy",
	"session_affinity"}

// apply copies the overridden fields of r into v.
func (v *Settings) apply(mask Override, r *Settings) {
	if mask&OverridePolicy != 0 {
		v.Policy = r.Policy
	}
	if mask&OverrideTTL != 0 {
		v.TTL = r.TTL
	}
	if mask&OverrideDefaultPools != 0 {
		v.DefaultPools = r.DefaultPools
	}
	if mask&OverrideFallbackPool != 0 {
		v.FallbackPool = r.FallbackPool
	}
	if mask&OverridePopPools != 0 {
		v.PopPools = r.PopPools
	}
	if mask&OverrideCountryPools != 0 {
		v.CountryPools = r.CountryPools
	}
	if mask&OverrideRegionPools != 0 {
		v.RegionPools = r.RegionPools
	}
	if mask&OverrideRandomSteering != 0 {
		v.RandomSteering = r.RandomSteering
	}
	if mask&OverrideLocationStrategy != 0 {
		v.PreferECS = r.PreferECS
		v.Mode = r.Mode
	}
	if mask&OverrideSessionAffinity != 0 {
		v.SessionAffinity = r.SessionAffinity
	}
}

// Rule is a compiled custom rule (ruling 18).
type Rule struct {
	Name       string
	Condition  string
	Priority   int
	Terminates bool
	Mask       Override
	Overrides  Settings // only the fields in Mask are meaningful
	cond       condition
}

// LB is a compiled load balancer.
type LB struct {
	ID       string
	Name     string // lowercase FQDN with trailing dot; "*.x.example." for a wildcard LB
	Wildcard bool
	Enabled  bool
	Service  Service
	// HostMX: an address LB (ServeAddr) whose reachable origins are all hostnames also
	// answers MX with them as exchangers (ruling 5), while A/AAAA get the CNAME of ruling 1.
	HostMX bool
	Settings
	Rules []Rule // in evaluation order (priority, then array order); disabled rules dropped
}

// Owns reports whether the load balancer answers qtype (ruling 21): A, AAAA and CNAME for an
// address LB, MX for a mail LB, SRV for a service LB. A disabled LB owns nothing.
func (lb *LB) Owns(qtype uint16) bool {
	if lb == nil || !lb.Enabled {
		return false
	}
	if lb.HostMX && qtype == typeMX {
		return true
	}
	return lb.OwnsService(qtype)
}

// OwnsService is Owns by the LB's Service alone (HostMX left out): the types an outgoing
// transfer takes from the LB (ruling 38), where a CNAME beside MX records would be invalid.
func (lb *LB) OwnsService(qtype uint16) bool {
	if lb == nil || !lb.Enabled {
		return false
	}
	switch lb.Service {
	case ServeMX:
		return qtype == typeMX
	case ServeSRV:
		return qtype == typeSRV
	default:
		return qtype == typeA || qtype == typeAAAA || qtype == typeCNAME
	}
}

// DNS types steer knows (RFC 1035, 2782, 3596), so it needs no DNS library.
const (
	typeA     = 1
	typeCNAME = 5
	typeMX    = 15
	typeAAAA  = 28
	typeSRV   = 33
)

// Shedding is a pool's compiled load_shedding (ruling 16).
type Shedding struct {
	DefaultPercent float64
	DefaultHash    bool // default_policy "hash"; else random per query
	SessionPercent float64
}

// Pool is a compiled pool.
type Pool struct {
	ID             string
	Name           string
	Enabled        bool
	Monitored      bool
	MonitorType    string
	MinimumOrigins int
	Lat, Lon       float64
	HasCoords      bool
	Shedding       Shedding
	OriginPolicy   OriginPolicy
	Origins        []Origin
	seed           uint64 // hash input of shedding by client key
}

// family of an origin address.
type family uint8

const (
	famHost family = iota
	famV4
	famV6
)

// Origin is a compiled origin. Exactly one of Addr (valid) and Host (non-empty) is set.
type Origin struct {
	Name    string
	Addr    netip.Addr // IP origins
	Host    string     // hostname origins: lowercase FQDN with trailing dot
	Port    uint16
	Weight  float64
	Enabled bool
	fam     family
	seed    uint64 // rendezvous hashing identity (name and address)
}

// Address is the origin's address as configured: the IP or the hostname.
func (o *Origin) Address() string {
	if o.Addr.IsValid() {
		return o.Addr.String()
	}
	return o.Host
}

// Set is a compiled catalog: load balancers and pools by index.
type Set struct {
	LBs     []LB
	Pools   []Pool
	pop     popInfo
	byName  map[string]int
	byPool  map[string]int // pool id → index
	regions func(country, subdivision string) string
}

// popInfo is this instance's PoP (server.pop), the location of mode "pop".
type popInfo struct {
	Location
	Code string
}
