package model

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lbdns/lbdns/pkg/region"
)

// RuleChecker, when set, compiles a rule condition and returns why it is invalid. pkg/model
// cannot import the rules package (it sits above model), so the program sets this hook once at
// start-up (cmd/lbdns, tests); nil skips the check. It must be safe for concurrent use.
var RuleChecker func(cond string) error

func quote(s string) string { return strconv.Quote(s) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- monitors ----

var monitorTypes = []string{MonitorHTTP, MonitorHTTPS, MonitorTCP, MonitorUDPICMP, MonitorICMPPing, MonitorSMTP}

// MaxRetries is the largest accepted monitor `retries` (Cloudflare's limit).
const MaxRetries = 5

// ValidateMonitor checks a normalised monitor. path is its path ("monitors[0]", or "" for the
// API).
func ValidateMonitor(m *Monitor, path string) Problems {
	var ps Problems
	f := func(name string) string { return Field(path, name) }
	if m.ID != "" && !validID(m.ID) {
		ps.Errorf(f("id"), "%s is not a valid id (1-32 letters, digits, '-' or '_')", quote(m.ID))
	}
	if m.ID == "" && m.Name == "" {
		ps.Errorf(f("name"), "a monitor needs a name (or an id) so pools can refer to it")
	}
	http := m.Type == MonitorHTTP || m.Type == MonitorHTTPS
	if !slices.Contains(monitorTypes, m.Type) {
		ps.Errorf(f("type"), "unknown monitor type %s (want one of %s)", quote(m.Type), strings.Join(monitorTypes, ", "))
	}
	switch {
	case http:
		if !isToken(m.Method) {
			ps.Errorf(f("method"), "%s is not an HTTP method", quote(m.Method))
		}
		if !strings.HasPrefix(m.Path, "/") {
			ps.Errorf(f("path"), "%s must start with /", quote(m.Path))
		} else if strings.ContainsAny(m.Path, " \t\r\n") {
			ps.Errorf(f("path"), "%s contains white space", quote(m.Path))
		}
		if err := checkExpectedCodes(m.ExpectedCodes); err != "" {
			ps.Errorf(f("expected_codes"), "%s", err)
		}
		for _, k := range sortedKeys(m.Header) {
			kp := Key(f("header"), k)
			if !isToken(k) {
				ps.Errorf(kp, "%s is not a valid header name", quote(k))
			} else if strings.EqualFold(k, "User-Agent") {
				ps.Warnf(kp, "the User-Agent of probes cannot be overridden: ignored")
			}
			for i, v := range m.Header[k] {
				if strings.ContainsAny(v, "\r\n") {
					ps.Errorf(Index(kp, i), "header value contains a line break")
				}
			}
		}
	case m.Type == MonitorTCP:
		if m.Method != MethodConnectionEstablished {
			ps.Errorf(f("method"), "tcp monitors take method %s, not %s", quote(MethodConnectionEstablished), quote(m.Method))
		}
	}
	if !http && slices.Contains(monitorTypes, m.Type) {
		if len(m.Header) > 0 {
			ps.Warnf(f("header"), "has no effect on %s monitors", m.Type)
		}
		if m.ExpectedBody != "" {
			ps.Warnf(f("expected_body"), "has no effect on %s monitors", m.Type)
		}
	}
	if m.Timeout < 1 {
		ps.Errorf(f("timeout"), "%d must be at least 1 second", m.Timeout)
	}
	if m.Interval < MinInterval || m.Interval > MaxInterval {
		ps.Errorf(f("interval"), "%d is outside %d..%d seconds", m.Interval, MinInterval, MaxInterval)
	}
	retries := Int(m.Retries, DefaultRetries)
	if retries < 0 || retries > MaxRetries {
		ps.Errorf(f("retries"), "%d is outside 0..%d", retries, MaxRetries)
	}
	if m.ConsecutiveUp < 1 {
		ps.Errorf(f("consecutive_up"), "%d must be at least 1", m.ConsecutiveUp)
	}
	if m.ConsecutiveDown < 1 {
		ps.Errorf(f("consecutive_down"), "%d must be at least 1", m.ConsecutiveDown)
	}
	if m.Timeout >= 1 && retries >= 0 && m.Interval >= MinInterval && m.Timeout*(retries+1) > m.Interval {
		ps.Warnf(f("timeout"), "timeout × (retries + 1) = %ds exceeds the interval of %ds: probes overlap", m.Timeout*(retries+1), m.Interval)
	}
	if m.ProbeZone != "" {
		ps.Warnf(f("probe_zone"), "proxied-only field: stored, has no effect (ruling 27)")
	}
	return ps
}

// Int returns *p, or def when p is nil.
func Int(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// checkExpectedCodes accepts a list of status codes separated by commas and/or spaces, each
// a code 100–599 ("200") or a class "1xx"–"5xx" (x case-insensitive).
func checkExpectedCodes(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return "no status code given (e.g. \"200\", \"2xx\", \"200,301\")"
	}
	for _, c := range fields {
		lc := strings.ToLower(c)
		if len(lc) == 3 && lc[0] >= '1' && lc[0] <= '5' {
			if lc[1:] == "xx" {
				continue
			}
			if n, err := strconv.Atoi(lc); err == nil && n >= 100 && n <= 599 {
				continue
			}
		}
		return quote(c) + " is not a status code (100-599) or class (1xx-5xx)"
	}
	return ""
}

// isToken reports whether s is an RFC 9110 token (header names, methods).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// ---- pools ----

var originPolicies = []string{OriginRandom, OriginHash, OriginLeastOutstanding, OriginLeastConnections}

// ValidatePool checks a normalised pool. path is its path ("pools[2]", or "" for the API).
// References to monitors are checked by Resolve and Catalog.Validate.
func ValidatePool(p *Pool, path string) Problems {
	var ps Problems
	f := func(name string) string { return Field(path, name) }
	if p.ID != "" && !validID(p.ID) {
		ps.Errorf(f("id"), "%s is not a valid id (1-32 letters, digits, '-' or '_')", quote(p.ID))
	}
	if p.Name == "" {
		ps.Errorf(f("name"), "a pool needs a name")
	} else if !validPoolName(p.Name) {
		ps.Errorf(f("name"), "%s may hold only letters, digits, '-' and '_'", quote(p.Name))
	}
	if p.Monitor != "" && p.MonitorGroup != "" {
		ps.Errorf(f("monitor_group"), "a pool has a monitor or a monitor group, not both")
	}
	if len(p.Origins) == 0 {
		ps.Errorf(f("origins"), "a pool needs at least one origin")
	}
	names := map[string]int{}
	addrs := map[string]int{}
	enabled := 0
	for i := range p.Origins {
		o := &p.Origins[i]
		op := Index(f("origins"), i)
		if Bool(o.Enabled, true) {
			enabled++
		}
		if o.Name == "" {
			ps.Errorf(Field(op, "name"), "an origin needs a name")
		} else if j, dup := names[o.Name]; dup {
			ps.Errorf(Field(op, "name"), "duplicate origin name %s (also origins[%d])", quote(o.Name), j)
		} else {
			names[o.Name] = i
		}
		switch {
		case o.Address == "":
			ps.Errorf(Field(op, "address"), "an origin needs an address (IP address or hostname)")
		case !ValidAddress(o.Address):
			ps.Errorf(Field(op, "address"), "%s is neither an IP address nor a hostname", quote(o.Address))
		default:
			key := strings.ToLower(strings.TrimSuffix(o.Address, "."))
			if a, err := netip.ParseAddr(o.Address); err == nil {
				key = a.Unmap().String()
			}
			if j, dup := addrs[key]; dup {
				ps.Errorf(Field(op, "address"), "%s appears twice in the pool (also origins[%d])", o.Address, j)
			} else {
				addrs[key] = i
			}
		}
		if o.Weight != nil {
			checkWeight(&ps, Field(op, "weight"), *o.Weight)
		}
		for _, k := range sortedKeys(o.Header) {
			kp := Key(Field(op, "header"), k)
			switch {
			case !isToken(k):
				ps.Errorf(kp, "%s is not a valid header name", quote(k))
			case !strings.EqualFold(k, "Host"):
				ps.Warnf(kp, "only the Host header of an origin is used: ignored")
			case len(o.Header[k]) != 1:
				ps.Errorf(kp, "Host takes exactly one value, got %d", len(o.Header[k]))
			case !ValidHostname(strings.TrimSuffix(o.Header[k][0], ".")) && !ValidAddress(o.Header[k][0]):
				ps.Errorf(Index(kp, 0), "%s is not a hostname", quote(o.Header[k][0]))
			}
		}
		if o.VirtualNetworkID != "" {
			ps.Warnf(Field(op, "virtual_network_id"), "proxied-only field: stored, has no effect (ruling 27)")
		}
	}
	if mo := Int(p.MinimumOrigins, DefaultMinimumOrigins); mo < 0 {
		ps.Errorf(f("minimum_origins"), "%d must not be negative", mo)
	} else if mo > enabled && len(p.Origins) > 0 {
		ps.Warnf(f("minimum_origins"), "%d is more than the %d enabled origins: the pool can never be healthy (ruling 23)", mo, enabled)
	}
	if (p.Latitude == nil) != (p.Longitude == nil) {
		ps.Errorf(f("latitude"), "latitude and longitude go together: set both or neither")
	}
	if p.Latitude != nil && (math.IsNaN(*p.Latitude) || *p.Latitude < -90 || *p.Latitude > 90) {
		ps.Errorf(f("latitude"), "%v is outside -90..90", *p.Latitude)
	}
	if p.Longitude != nil && (math.IsNaN(*p.Longitude) || *p.Longitude < -180 || *p.Longitude > 180) {
		ps.Errorf(f("longitude"), "%v is outside -180..180", *p.Longitude)
	}
	if ls := p.LoadShedding; ls != nil {
		lp := f("load_shedding")
		checkPercent(&ps, Field(lp, "default_percent"), ls.DefaultPercent)
		checkPercent(&ps, Field(lp, "session_percent"), ls.SessionPercent)
		if ls.DefaultPolicy != "" && ls.DefaultPolicy != SheddingRandom && ls.DefaultPolicy != SheddingHash {
			ps.Errorf(Field(lp, "default_policy"), "unknown policy %s (want random or hash)", quote(ls.DefaultPolicy))
		}
		if ls.SessionPolicy != "" && ls.SessionPolicy != SheddingHash {
			ps.Errorf(Field(lp, "session_policy"), "unknown policy %s (want hash)", quote(ls.SessionPolicy))
		}
	}
	if os := p.OriginSteering; os != nil && os.Policy != "" && !slices.Contains(originPolicies, os.Policy) {
		ps.Errorf(Field(f("origin_steering"), "policy"), "unknown policy %s (want one of %s)", quote(os.Policy), strings.Join(originPolicies, ", "))
	}
	for i, r := range p.CheckRegions {
		if !region.ValidRegion(r) && r != "ALL_REGIONS" {
			ps.Errorf(Index(f("check_regions"), i), "unknown region %s", quote(r))
		}
	}
	if p.NotificationEmail != "" {
		ps.Warnf(f("notification_email"), "deprecated and has no effect: use notifications")
	}
	if len(p.Networks) > 0 {
		ps.Warnf(f("networks"), "proxied-only field: stored, has no effect (ruling 27)")
	}
	return ps
}

func validPoolName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkWeight accepts 0..1 in steps of 0.01 (ruling 24).
func checkWeight(ps *Problems, path string, w float64) {
	if math.IsNaN(w) || w < 0 || w > 1 {
		ps.Errorf(path, "%v is outside 0..1", w)
		return
	}
	if c := w * 100; math.Abs(c-math.Round(c)) > 1e-6 {
		ps.Errorf(path, "%v is not a multiple of 0.01", w)
	}
}

func checkPercent(ps *Problems, path string, v float64) {
	if math.IsNaN(v) || v < 0 || v > 100 {
		ps.Errorf(path, "%v is outside 0..100", v)
	}
}

// ValidAddress reports whether s is an IP address (no zone) or a hostname.
func ValidAddress(s string) bool {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == ""
	}
	if strings.Count(s, ".") == 3 && strings.Trim(s, "0123456789.") == "" {
		return false // looks like a malformed IPv4 address, not a hostname
	}
	return ValidHostname(strings.TrimSuffix(s, "."))
}

// ValidHostname reports whether s (without a trailing dot) is a DNS hostname: 1-253
// characters, labels of 1-63 letters, digits, '-' and '_' not starting or ending with '-'.
// Underscores are allowed for service names (_sip._tcp).
func ValidHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// ---- load balancers ----

var (
	steeringPolicies = []string{SteerDefault, SteerOff, SteerGeo, SteerRandom, SteerDynamicLatency, SteerProximity, SteerLeastOutstanding, SteerLeastConnections}
	affinities       = []string{"", AffinityNone, AffinityCookie, AffinityIPCookie, AffinityHeader}
	preferECS        = []string{PreferECSAlways, PreferECSNever, PreferECSProximity, PreferECSGeo}
	locationModes    = []string{ModePoP, ModeResolverIP}
)

// IsServiceName reports whether a load balancer name is a service name (first label starts
// with '_', e.g. "_sip._tcp.example.com"): such a load balancer answers SRV (ruling 5), and
// every origin of its pools needs a port.
func IsServiceName(name string) bool { return strings.HasPrefix(name, "_") }

// InZone reports whether the (normalised) name lies in or at the apex of zone.
func InZone(name, zone string) bool {
	name, zone = NormalizeName(name), NormalizeName(zone)
	return name == zone || strings.HasSuffix(name, "."+zone) || zone == ""
}

// ValidateLoadBalancer checks a normalised load balancer. path is its path
// ("load_balancers[0]", or "" for the API). zones lists the zone names the load balancer may
// live in: nil skips that check, an empty non-nil list fails it. References to pools are
// checked by Resolve and Catalog.Validate.
func ValidateLoadBalancer(lb *LoadBalancer, path string, zones []string) Problems {
	var ps Problems
	f := func(name string) string { return Field(path, name) }
	if lb.ID != "" && !validID(lb.ID) {
		ps.Errorf(f("id"), "%s is not a valid id (1-32 letters, digits, '-' or '_')", quote(lb.ID))
	}
	name := NormalizeName(lb.Name)
	host := strings.TrimPrefix(name, "*.")
	switch {
	case name == "":
		ps.Errorf(f("name"), "a load balancer needs a name (its hostname)")
	case strings.Contains(host, "*") || !ValidHostname(host):
		ps.Errorf(f("name"), "%s is not a hostname (a \"*.\" prefix makes a wildcard)", quote(lb.Name))
	case zones != nil:
		in := false
		for _, z := range zones {
			if InZone(host, z) {
				in = true
				break
			}
		}
		if !in {
			if len(zones) == 0 {
				ps.Errorf(f("name"), "%s is not inside a configured zone (no zones are configured)", quote(name))
			} else {
				ps.Errorf(f("name"), "%s is not inside any configured zone (%s)", quote(name), strings.Join(uniq(zones), ", "))
			}
		}
	}
	if lb.Proxied {
		ps.Errorf(f("proxied"), "lbdns is DNS-only: proxied must be false (ruling 17)")
	}
	if len(lb.DefaultPools) == 0 {
		ps.Errorf(f("default_pools"), "a load balancer needs at least one default pool")
	}
	checkPoolList(&ps, f("default_pools"), lb.DefaultPools)
	if lb.TTL != nil {
		checkTTL(&ps, f("ttl"), *lb.TTL)
	}
	if !slices.Contains(steeringPolicies, lb.SteeringPolicy) {
		ps.Errorf(f("steering_policy"), "unknown steering policy %s (want one of %s)", quote(lb.SteeringPolicy), strings.Join(steeringPolicies[1:], ", "))
	}
	checkGeoMaps(&ps, path, lb.RegionPools, lb.CountryPools, lb.PopPools)
	checkRandomSteering(&ps, f("random_steering"), lb.RandomSteering)
	checkLocation(&ps, f("location_strategy"), lb.LocationStrategy)
	checkAffinity(&ps, path, lb.SessionAffinity, lb.SessionAffinityTTL)
	checkProxiedOnly(&ps, path, lb.AdaptiveRouting != nil, lb.SessionAffinityAttributes != nil)
	if len(lb.Networks) > 0 {
		ps.Warnf(f("networks"), "proxied-only field: stored, has no effect (ruling 27)")
	}
	for i, r := range lb.Rules {
		rp := Index(f("rules"), i)
		if r == nil {
			ps.Errorf(rp, "a rule cannot be null")
			continue
		}
		checkRule(&ps, rp, r)
	}
	return ps
}

func checkTTL(ps *Problems, path string, ttl int) {
	if ttl < MinTTL || ttl > MaxTTL {
		ps.Errorf(path, "%d is outside %d..%d seconds", ttl, MinTTL, MaxTTL)
	}
}

func checkPoolList(ps *Problems, path string, pools []string) {
	seen := map[string]int{}
	for i, p := range pools {
		if p == "" {
			ps.Errorf(Index(path, i), "empty pool reference")
			continue
		}
		if j, dup := seen[p]; dup {
			ps.Errorf(Index(path, i), "pool %s is listed twice (also [%d])", quote(p), j)
		}
		seen[p] = i
	}
}

func checkGeoMaps(ps *Problems, path string, regions, countries, pops map[string][]string) {
	for _, k := range sortedKeys(regions) {
		kp := Key(Field(path, "region_pools"), k)
		if !region.ValidRegion(k) {
			ps.Errorf(kp, "unknown region code %s", quote(k))
		}
		checkGeoList(ps, kp, regions[k])
	}
	for _, k := range sortedKeys(countries) {
		kp := Key(Field(path, "country_pools"), k)
		if !ValidCountryKey(k) {
			ps.Errorf(kp, "unknown country code %s (ISO 3166-1 alpha-2, or a US/CA subdivision such as US-CA)", quote(k))
		}
		checkGeoList(ps, kp, countries[k])
	}
	for _, k := range sortedKeys(pops) {
		kp := Key(Field(path, "pop_pools"), k)
		if k == "" || !validPoolName(k) {
			ps.Errorf(kp, "%s is not a PoP code (letters and digits, e.g. LHR)", quote(k))
		}
		checkGeoList(ps, kp, pops[k])
	}
}

func checkGeoList(ps *Problems, path string, pools []string) {
	if len(pools) == 0 {
		ps.Warnf(path, "empty pool list: these clients go straight to the fallback pool")
	}
	checkPoolList(ps, path, pools)
}

// ValidCountryKey reports whether k is an ISO 3166-1 alpha-2 country code ("US") or a US or
// Canadian subdivision ("US-CA", "CA-QC"), the keys country_pools and geoip.regions accept.
func ValidCountryKey(k string) bool {
	if len(k) > 3 && k[2] == '-' {
		return region.ValidSubdivision(k[:2], k)
	}
	return len(k) == 2 && region.ValidCountry(k)
}

func checkRandomSteering(ps *Problems, path string, rs *RandomSteering) {
	if rs == nil {
		return
	}
	if rs.DefaultWeight != nil {
		checkWeight(ps, Field(path, "default_weight"), *rs.DefaultWeight)
	}
	for _, k := range sortedKeys(rs.PoolWeights) {
		checkWeight(ps, Key(Field(path, "pool_weights"), k), rs.PoolWeights[k])
	}
}

func checkLocation(ps *Problems, path string, ls *LocationStrategy) {
	if ls == nil {
		return
	}
	if ls.PreferECS != "" && !slices.Contains(preferECS, ls.PreferECS) {
		ps.Errorf(Field(path, "prefer_ecs"), "unknown value %s (want one of %s)", quote(ls.PreferECS), strings.Join(preferECS, ", "))
	}
	if ls.Mode != "" && !slices.Contains(locationModes, ls.Mode) {
		ps.Errorf(Field(path, "mode"), "unknown mode %s (want pop or resolver_ip)", quote(ls.Mode))
	}
}

func checkAffinity(ps *Problems, path, aff string, ttl int) {
	switch {
	case !slices.Contains(affinities, aff):
		ps.Errorf(Field(path, "session_affinity"), "unknown value %s (want none, cookie, ip_cookie or header)", quote(aff))
	case aff == AffinityCookie || aff == AffinityHeader:
		ps.Warnf(Field(path, "session_affinity"), "%s affinity has no effect in DNS-only mode: use ip_cookie (ruling 17)", aff)
	}
	if ttl < 0 {
		ps.Errorf(Field(path, "session_affinity_ttl"), "%d must not be negative", ttl)
	}
}

func checkProxiedOnly(ps *Problems, path string, adaptive, attrs bool) {
	if adaptive {
		ps.Warnf(Field(path, "adaptive_routing"), "proxied-only field: stored, has no effect (ruling 27)")
	}
	if attrs {
		ps.Warnf(Field(path, "session_affinity_attributes"), "proxied-only field: stored, has no effect (ruling 27)")
	}
}

func checkRule(ps *Problems, path string, r *Rule) {
	if r.FixedResponse != nil {
		ps.Errorf(Field(path, "fixed_response"), "fixed_response is HTTP-only and not supported by a DNS-only load balancer (ruling 18)")
	}
	if r.Priority < 0 {
		ps.Errorf(Field(path, "priority"), "%d must not be negative", r.Priority)
	}
	if RuleChecker != nil && r.Condition != "" {
		if err := RuleChecker(r.Condition); err != nil {
			ps.Errorf(Field(path, "condition"), "%v", err)
		}
	}
	o := &r.Overrides
	op := Field(path, "overrides")
	checkPoolList(ps, Field(op, "default_pools"), o.DefaultPools)
	if o.TTL != nil {
		checkTTL(ps, Field(op, "ttl"), *o.TTL)
	}
	if o.SteeringPolicy != nil && !slices.Contains(steeringPolicies, *o.SteeringPolicy) {
		ps.Errorf(Field(op, "steering_policy"), "unknown steering policy %s (want one of %s)", quote(*o.SteeringPolicy), strings.Join(steeringPolicies[1:], ", "))
	}
	checkGeoMaps(ps, op, o.RegionPools, o.CountryPools, o.PopPools)
	checkRandomSteering(ps, Field(op, "random_steering"), o.RandomSteering)
	checkLocation(ps, Field(op, "location_strategy"), o.LocationStrategy)
	if o.SessionAffinity != "" || o.SessionAffinityTTL != nil {
		checkAffinity(ps, op, o.SessionAffinity, Int(o.SessionAffinityTTL, 0))
	}
	checkProxiedOnly(ps, op, o.AdaptiveRouting != nil, o.SessionAffinityAttributes != nil)
}

// ---- the catalog ----

// Validate checks every object (ValidateMonitor, ValidateMonitorGroup, ValidatePool,
// ValidateLoadBalancer with paths "monitors[i]", "monitor_groups[i]", "pools[i]",
// "load_balancers[i]") and the catalog as a whole: duplicate ids, duplicate load balancer
// names, references to unknown monitors, monitor groups and pools, service
// (SRV) load balancers whose origins lack a port or are IP addresses, proximity steering over
// pools without coordinates. Call it after Normalize and Resolve. zones is passed to
// ValidateLoadBalancer.
func (c *Catalog) Validate(zones []string) Problems {
	var ps Problems
	monitors := map[string]bool{}
	pools := map[string]*Pool{}
	seen := map[string]string{}
	dupID := func(kind, path, id, name string) {
		if id == "" {
			return
		}
		if other, dup := seen[kind+"\x00"+id]; dup {
			if name != "" && id == DeriveID(kind, name) {
				ps.Errorf(Field(path, "name"), "duplicate name %s (also %s)", quote(name), other)
			} else {
				ps.Errorf(Field(path, "id"), "duplicate id %s (also %s)", quote(id), other)
			}
			return
		}
		seen[kind+"\x00"+id] = path
	}
	// A reference by a name several objects share stays unresolved; Resolve reports it as
	// ambiguous, so it is not also reported unknown here.
	named := map[string]int{}
	shared := func(kind, ref string) bool { return named[kind+"\x00"+ref] > 1 }
	for i := range c.Monitors {
		m := &c.Monitors[i]
		p := Index("monitors", i)
		ps.Add(ValidateMonitor(m, p))
		dupID(KindMonitor, p, m.ID, m.Name)
		monitors[m.ID] = true
		named[KindMonitor+"\x00"+m.Name]++
	}
	groups := map[string]bool{}
	for i := range c.MonitorGroups {
		g := &c.MonitorGroups[i]
		p := Index("monitor_groups", i)
		ps.Add(ValidateMonitorGroup(g, p))
		dupID(KindMonitorGroup, p, g.ID, g.Name)
		groups[g.ID] = true
		named[KindMonitorGroup+"\x00"+g.Name]++
		for j, m := range g.Members {
			if m.MonitorID != "" && !monitors[m.MonitorID] && !shared(KindMonitor, m.MonitorID) {
				ps.Errorf(Field(Index(Field(p, "members"), j), "monitor_id"), "unknown monitor %s", quote(m.MonitorID))
			}
		}
	}
	for i := range c.Pools {
		pl := &c.Pools[i]
		p := Index("pools", i)
		ps.Add(ValidatePool(pl, p))
		dupID(KindPool, p, pl.ID, pl.Name)
		if pl.Monitor != "" && !monitors[pl.Monitor] && !shared(KindMonitor, pl.Monitor) {
			ps.Errorf(Field(p, "monitor"), "unknown monitor %s", quote(pl.Monitor))
		}
		if pl.MonitorGroup != "" && !groups[pl.MonitorGroup] && !shared(KindMonitorGroup, pl.MonitorGroup) {
			ps.Errorf(Field(p, "monitor_group"), "unknown monitor group %s", quote(pl.MonitorGroup))
		}
		if _, dup := pools[pl.ID]; !dup {
			pools[pl.ID] = pl
		}
		named[KindPool+"\x00"+pl.Name]++
	}
	lbNames := map[string]string{}
	for i := range c.LoadBalancers {
		lb := &c.LoadBalancers[i]
		p := Index("load_balancers", i)
		ps.Add(ValidateLoadBalancer(lb, p, zones))
		if other, dup := lbNames[NormalizeName(lb.Name)]; dup && lb.Name != "" {
			ps.Errorf(Field(p, "name"), "duplicate load balancer name %s (also %s)", quote(lb.Name), other)
		} else {
			dupID(KindLoadBalancer, p, lb.ID, lb.Name)
			lbNames[NormalizeName(lb.Name)] = p
		}
		refs := lbPoolRefs(lb, p)
		for _, r := range refs {
			if _, ok := pools[r.id]; !ok && r.id != "" && !shared(KindPool, r.id) {
				ps.Errorf(r.path, "unknown pool %s", quote(r.id))
			}
		}
		if IsServiceName(NormalizeName(lb.Name)) {
			checkServicePools(&ps, p, refs, pools)
		}
		if lb.SteeringPolicy == SteerProximity {
			warned := map[string]bool{}
			for _, r := range refs {
				if pl := pools[r.id]; pl != nil && pl.Latitude == nil && !warned[r.id] {
					warned[r.id] = true
					ps.Warnf(r.path, "pool %s has no latitude/longitude: proximity steering places it last", quote(pl.Name))
				}
			}
		}
	}
	return ps
}

type poolRef struct{ path, id string }

// lbPoolRefs lists every pool reference of lb with its path, in field order.
func lbPoolRefs(lb *LoadBalancer, path string) []poolRef {
	var out []poolRef
	list := func(p string, ids []string) {
		for i, id := range ids {
			out = append(out, poolRef{Index(p, i), id})
		}
	}
	geo := func(p string, m map[string][]string) {
		for _, k := range sortedKeys(m) {
			list(Key(p, k), m[k])
		}
	}
	weights := func(p string, rs *RandomSteering) {
		if rs != nil {
			for _, k := range sortedKeys(rs.PoolWeights) {
				out = append(out, poolRef{Key(Field(p, "pool_weights"), k), k})
			}
		}
	}
	list(Field(path, "default_pools"), lb.DefaultPools)
	if lb.FallbackPool != "" {
		out = append(out, poolRef{Field(path, "fallback_pool"), lb.FallbackPool})
	}
	geo(Field(path, "region_pools"), lb.RegionPools)
	geo(Field(path, "country_pools"), lb.CountryPools)
	geo(Field(path, "pop_pools"), lb.PopPools)
	weights(Field(path, "random_steering"), lb.RandomSteering)
	for i, r := range lb.Rules {
		if r == nil {
			continue
		}
		op := Field(Index(Field(path, "rules"), i), "overrides")
		list(Field(op, "default_pools"), r.Overrides.DefaultPools)
		if r.Overrides.FallbackPool != "" {
			out = append(out, poolRef{Field(op, "fallback_pool"), r.Overrides.FallbackPool})
		}
		geo(Field(op, "region_pools"), r.Overrides.RegionPools)
		geo(Field(op, "country_pools"), r.Overrides.CountryPools)
		geo(Field(op, "pop_pools"), r.Overrides.PopPools)
		weights(Field(op, "random_steering"), r.Overrides.RandomSteering)
	}
	return out
}

// checkServicePools: an SRV load balancer's origins are the SRV targets, so each needs a
// hostname address and a port (ruling 5).
func checkServicePools(ps *Problems, path string, refs []poolRef, pools map[string]*Pool) {
	done := map[string]bool{}
	for _, r := range refs {
		pl := pools[r.id]
		if pl == nil || done[r.id] {
			continue
		}
		done[r.id] = true
		for i, o := range pl.Origins {
			if o.Port == 0 {
				ps.Errorf(r.path, "pool %s origins[%d] (%s) has no port: origins of a service (SRV) load balancer need one (ruling 5)", quote(pl.Name), i, o.Name)
			}
			if _, err := netip.ParseAddr(o.Address); err == nil {
				ps.Errorf(r.path, "pool %s origins[%d] (%s) is an IP address: SRV targets must be hostnames", quote(pl.Name), i, o.Name)
			}
		}
	}
}

// uniq returns the distinct values of s in their first order.
func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
