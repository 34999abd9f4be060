// Package model holds the load-balancing objects of lbdns — load balancers, pools, origins and
// monitors — as typed values with Cloudflare Load Balancing's API field names and JSON shapes
// (cloudflare-go v0.119 decodes and encodes them unchanged). The config file and the management
// API both decode into these types and both validate them with the functions of this package,
// so a value is judged the same way wherever it comes from.
//
// Pointer fields distinguish "omitted" from an explicit zero where the default is not the zero
// value (ruling 14, 20, 24 of DECISIONS.md); Normalize fills the defaults in. The package imports
// only the standard library and pkg/region.
//
// A catalog goes through Normalize (defaults, ids derived from names: DeriveID), Resolve
// (references by id or name → ids; an empty fallback_pool becomes the last default pool,
// ruling 6) and Validate (per-object checks plus duplicates and cross-references). Problems
// carry field paths ("pools[2].origins[0].weight"; the API passes an empty prefix). Choices
// made where the documents are silent:
//   - Pool names hold only letters, digits, '-' and '_' (Cloudflare F2); origin names are
//     required and unique in a pool, and an address may not appear twice in a pool.
//   - A load balancer whose first label starts with '_' (`_sip._tcp.example.com`) is a service
//     load balancer answering SRV (ruling 5): every origin of its pools needs a port and a
//     hostname address. MX load balancers cannot be told apart by name and are not checked.
//   - Load balancer names are stored lower case without the trailing dot; zones == nil skips
//     the in-zone check (an empty non-nil list fails it).
//   - country_pools keys are ISO 3166-1 alpha-2 codes or US/CA subdivisions ("US-CA");
//     pop_pools keys are codes of letters, digits, '-' and '_'; check_regions also accepts
//     "ALL_REGIONS".
//   - retries 0..5; a timeout × (retries+1) longer than the interval is a warning.
//   - Warnings (valid, but no effect): proxied-only fields (ruling 27), cookie/header session
//     affinity (ruling 17), notification_email, minimum_origins above the
//     enabled origins (ruling 23), empty geo pool lists, headers other than Host on origins,
//     User-Agent on monitors, proximity steering over pools without coordinates.
//   - Rule conditions are compiled through the RuleChecker hook (set by the program to
//     pkg/rules' Compile); fixed_response is rejected (ruling 18).
package model

import "time"

// Load balancer steering policies (LB API `steering_policy`).
const (
	SteerDefault          = ""    // geo if any geo map is set, else off
	SteerOff              = "off" // failover in default_pools order
	SteerGeo              = "geo" // pop_pools → country_pools → region_pools → default_pools
	SteerRandom           = "random"
	SteerDynamicLatency   = "dynamic_latency"
	SteerProximity        = "proximity"
	SteerLeastOutstanding = "least_outstanding_requests"
	SteerLeastConnections = "least_connections"
)

// Origin steering policies (pool `origin_steering.policy`).
const (
	OriginRandom           = "random"
	OriginHash             = "hash"
	OriginLeastOutstanding = "least_outstanding_requests"
	OriginLeastConnections = "least_connections"
)

// Monitor types (ruling 25).
const (
	MonitorHTTP     = "http"
	MonitorHTTPS    = "https"
	MonitorTCP      = "tcp"
	MonitorUDPICMP  = "udp_icmp"
	MonitorICMPPing = "icmp_ping"
	MonitorSMTP     = "smtp"
)

// Defaults, with their source.
const (
	DefaultTTL             = 30 // ruling 20 (Cloudflare's DNS-only TTL)
	MinTTL                 = 1  // ruling 20
	MaxTTL                 = 86400
	DefaultInterval        = 60 // ruling 14
	MinInterval            = 5
	MaxInterval            = 3600
	DefaultTimeout         = 5
	DefaultRetries         = 2
	DefaultConsecutiveUp   = 1
	DefaultConsecutiveDown = 1
	DefaultExpectedCodes   = "200"
	DefaultPath            = "/"
	DefaultMinimumOrigins  = 1
	DefaultOriginWeight    = 1.0
	DefaultPoolWeight      = 1.0         // random_steering.default_weight, ruling 24
	DefaultPreferECS       = "proximity" // ruling 11 (Cloudflare API default)
	DefaultLocationMode    = "pop"       // ruling 11
)

// Monitor is a health monitor (API: accounts/{id}/load_balancers/monitors).
type Monitor struct {
	ID              string              `json:"id,omitempty"`
	CreatedOn       *time.Time          `json:"created_on,omitempty"`
	ModifiedOn      *time.Time          `json:"modified_on,omitempty"`
	Name            string              `json:"name,omitempty"` // lbdns: config-file handle; the id derives from it
	Type            string              `json:"type"`
	Description     string              `json:"description"`
	Method          string              `json:"method"`
	Path            string              `json:"path"`
	Header          map[string][]string `json:"header"`
	Timeout         int                 `json:"timeout"`
	Retries         *int                `json:"retries"`
	Interval        int                 `json:"interval"`
	ConsecutiveUp   int                 `json:"consecutive_up"`
	ConsecutiveDown int                 `json:"consecutive_down"`
	Port            uint16              `json:"port,omitempty"`
	ExpectedBody    string              `json:"expected_body"`
	ExpectedCodes   string              `json:"expected_codes"`
	FollowRedirects bool                `json:"follow_redirects"`
	AllowInsecure   bool                `json:"allow_insecure"`
	ProbeZone       string              `json:"probe_zone"` // proxied-only: stored, no effect (ruling 27)
}

// Origin is one endpoint of a pool (`pools[].origins[]`).
type Origin struct {
	Name             string              `json:"name"`
	Address          string              `json:"address"` // IPv4, IPv6 or hostname (ruling 1)
	Enabled          *bool               `json:"enabled"`
	Weight           *float64            `json:"weight"`
	Port             uint16              `json:"port,omitempty"` // probes and SRV targets; 0 = the monitor's
	Header           map[string][]string `json:"header"`
	VirtualNetworkID string              `json:"virtual_network_id,omitempty"` // stored, no effect
	Healthy          *bool               `json:"healthy,omitempty"`            // read-only
	DisabledAt       *time.Time          `json:"disabled_at,omitempty"`        // read-only
}

// LoadShedding is a pool's `load_shedding` object (ruling 16).
type LoadShedding struct {
	DefaultPercent float64 `json:"default_percent"`
	DefaultPolicy  string  `json:"default_policy,omitempty"` // random | hash
	SessionPercent float64 `json:"session_percent"`
	SessionPolicy  string  `json:"session_policy,omitempty"` // hash
}

// OriginSteering is a pool's `origin_steering` object (ruling 2).
type OriginSteering struct {
	Policy string `json:"policy,omitempty"`
}

// NotificationFilter is a pool's `notification_filter` (ruling 28).
type NotificationFilter struct {
	Origin *FilterOptions `json:"origin,omitempty"`
	Pool   *FilterOptions `json:"pool,omitempty"`
}

// FilterOptions mutes (`disable`) or restricts (`healthy`: true = only to healthy, false = only
// to unhealthy, nil = both) the notifications of one event source.
type FilterOptions struct {
	Disable bool  `json:"disable"`
	Healthy *bool `json:"healthy"`
}

// Pool is a group of origins (API: accounts/{id}/load_balancers/pools).
type Pool struct {
	ID                 string              `json:"id,omitempty"`
	CreatedOn          *time.Time          `json:"created_on,omitempty"`
	ModifiedOn         *time.Time          `json:"modified_on,omitempty"`
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	Enabled            *bool               `json:"enabled"`
	MinimumOrigins     *int                `json:"minimum_origins,omitempty"`
	Monitor            string              `json:"monitor,omitempty"` // id, or name in the config file
	MonitorGroup       string              `json:"monitor_group,omitempty"`
	Origins            []Origin            `json:"origins"`
	NotificationEmail  string              `json:"notification_email,omitempty"`
	NotificationFilter *NotificationFilter `json:"notification_filter,omitempty"`
	Latitude           *float64            `json:"latitude,omitempty"`
	Longitude          *float64            `json:"longitude,omitempty"`
	LoadShedding       *LoadShedding       `json:"load_shedding,omitempty"`
	OriginSteering     *OriginSteering     `json:"origin_steering,omitempty"`
	CheckRegions       []string            `json:"check_regions"`
	Networks           []string            `json:"networks,omitempty"` // stored, no effect
	Healthy            *bool               `json:"healthy,omitempty"`  // read-only
}

// RandomSteering is `random_steering` (ruling 24).
type RandomSteering struct {
	DefaultWeight *float64           `json:"default_weight,omitempty"`
	PoolWeights   map[string]float64 `json:"pool_weights,omitempty"`
}

// LocationStrategy is `location_strategy` (rulings 10, 11).
type LocationStrategy struct {
	PreferECS string `json:"prefer_ecs,omitempty"` // always | never | proximity | geo
	Mode      string `json:"mode,omitempty"`       // pop | resolver_ip
}

// AdaptiveRouting is proxied-only: stored, no effect (ruling 27).
type AdaptiveRouting struct {
	FailoverAcrossPools *bool `json:"failover_across_pools,omitempty"`
}

// SessionAffinityAttributes is proxied-only: stored, no effect (ruling 27).
type SessionAffinityAttributes struct {
	SameSite             string   `json:"samesite,omitempty"`
	Secure               string   `json:"secure,omitempty"`
	DrainDuration        int      `json:"drain_duration,omitempty"`
	ZeroDowntimeFailover string   `json:"zero_downtime_failover,omitempty"`
	Headers              []string `json:"headers,omitempty"`
	RequireAllHeaders    *bool    `json:"require_all_headers,omitempty"` // a pointer, as in cloudflare-go: an explicit false round-trips
}

// RuleOverrides are the load balancer fields a matching rule replaces (ruling 18, 19).
type RuleOverrides struct {
	SessionAffinity           string                     `json:"session_affinity,omitempty"`
	SessionAffinityTTL        *int                       `json:"session_affinity_ttl,omitempty"`
	SessionAffinityAttributes *SessionAffinityAttributes `json:"session_affinity_attributes,omitempty"`
	TTL                       *int                       `json:"ttl,omitempty"`
	SteeringPolicy            *string                    `json:"steering_policy,omitempty"`
	FallbackPool              string                     `json:"fallback_pool,omitempty"`
	DefaultPools              []string                   `json:"default_pools,omitempty"`
	PopPools                  map[string][]string        `json:"pop_pools,omitempty"`
	RegionPools               map[string][]string        `json:"region_pools,omitempty"`
	CountryPools              map[string][]string        `json:"country_pools,omitempty"`
	RandomSteering            *RandomSteering            `json:"random_steering,omitempty"`
	AdaptiveRouting           *AdaptiveRouting           `json:"adaptive_routing,omitempty"`
	LocationStrategy          *LocationStrategy          `json:"location_strategy,omitempty"`
}

// FixedResponse is HTTP-only and rejected by validation (ruling 18).
type FixedResponse struct {
	MessageBody string `json:"message_body,omitempty"`
	StatusCode  int    `json:"status_code,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Location    string `json:"location,omitempty"`
}

// Rule is one custom rule of a load balancer (ruling 18).
type Rule struct {
	Name          string         `json:"name"`
	Condition     string         `json:"condition"`
	Priority      int            `json:"priority"`
	Disabled      bool           `json:"disabled"`
	Terminates    bool           `json:"terminates,omitempty"`
	Overrides     RuleOverrides  `json:"overrides"`
	FixedResponse *FixedResponse `json:"fixed_response,omitempty"`
}

// LoadBalancer is a load-balanced hostname (API: zones/{id}/load_balancers).
type LoadBalancer struct {
	ID                        string                     `json:"id,omitempty"`
	CreatedOn                 *time.Time                 `json:"created_on,omitempty"`
	ModifiedOn                *time.Time                 `json:"modified_on,omitempty"`
	Description               string                     `json:"description"`
	Name                      string                     `json:"name"`                // the hostname; "*." prefix = wildcard
	ZoneName                  string                     `json:"zone_name,omitempty"` // read-only
	TTL                       *int                       `json:"ttl,omitempty"`
	FallbackPool              string                     `json:"fallback_pool"`
	DefaultPools              []string                   `json:"default_pools"`
	RegionPools               map[string][]string        `json:"region_pools"`
	PopPools                  map[string][]string        `json:"pop_pools"`
	CountryPools              map[string][]string        `json:"country_pools"`
	Proxied                   bool                       `json:"proxied"`
	Enabled                   *bool                      `json:"enabled,omitempty"`
	SessionAffinity           string                     `json:"session_affinity,omitempty"`
	SessionAffinityTTL        int                        `json:"session_affinity_ttl,omitempty"`
	SessionAffinityAttributes *SessionAffinityAttributes `json:"session_affinity_attributes,omitempty"`
	Rules                     []*Rule                    `json:"rules,omitempty"`
	RandomSteering            *RandomSteering            `json:"random_steering,omitempty"`
	AdaptiveRouting           *AdaptiveRouting           `json:"adaptive_routing,omitempty"`
	LocationStrategy          *LocationStrategy          `json:"location_strategy,omitempty"`
	SteeringPolicy            string                     `json:"steering_policy"`
	Networks                  []string                   `json:"networks,omitempty"` // stored, no effect
}

// PoP is where this lbdns instance runs (`server.pop`): the location of location_strategy
// mode "pop", the key of pop_pools, and the probing region (ruling 13).
type PoP struct {
	Code      string   `json:"code,omitempty"`
	Region    string   `json:"region,omitempty"`
	Country   string   `json:"country,omitempty"`
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
}

// Bool returns *b, or def when b is nil.
func Bool(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// Ptr returns a pointer to v (for literals in tests and defaults).
func Ptr[T any](v T) *T { return &v }
