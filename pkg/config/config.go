// Package config owns the lbdns configuration file (CONTRACT §2): the Config types, loading
// (YAML, JSON or TOML chosen by the file extension), `LBDNS_` environment overrides, and the
// validation of every section with field paths and, where the format gives them, line numbers.
// The load-balancing sections (monitors, monitor_groups, pools, load_balancers) are model types, normalised,
// resolved and validated by pkg/model exactly as the API does.
//
// How a file is read, and the decisions behind it:
//
//   - The document is parsed into a case-preserving tree (yaml.v3 nodes for YAML, a token
//     decoder for JSON, go-toml v2 for TOML) and walked against the Go types by their `json`
//     tags. The walk reports unknown keys (`pools[0].origins[1].wieght: unknown field`),
//     wrong shapes (a string where a list is expected) and numbers out of range, then the tree
//     is decoded through encoding/json, so the object sections take exactly the API's JSON
//     shapes. Header names (`Host`), geo map keys (`US`) and pool_weights keys keep their case;
//     viper is not used for the document because it lowercases keys and loses line numbers.
//   - Scalars are coerced to the target type where YAML would surprise: `expected_codes: 200`
//     is the string "200".
//   - viper resolves the environment: every scalar key outside the lists (server.listen,
//     server.udp_sockets, server.pop.*, api.listen, api.account_id, metrics.listen, data_dir,
//     geoip.city, geoip.asn, log.level, log.format) can be overridden by `LBDNS_` + the key in
//     upper case with dots as underscores (LBDNS_SERVER_LISTEN, LBDNS_DATA_DIR…). List-valued
//     keys (server.listen, geoip.city) take one value or a comma-separated list (ruling 42).
//   - Relative paths (data_dir, geoip files, zone files, TSIG secret files, token files) are
//     relative to the directory of the config file, also when they come from the environment.
//   - Problems are sorted in document order (by line; problems without a line first) and carry
//     the line of the nearest enclosing key that exists in the file (TOML gives no lines).
//   - Secrets (token_file, tsig.secret_file) are read at load time into fields that are never
//     serialised (ruling 37: one line, a trailing newline ignored).
package config

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/lbdns/lbdns/pkg/model"
)

// Defaults of the config file, applied by Load when a key is omitted.
const (
	// DefaultListen is the DNS listen address when server.listen is omitted: port 53 on every
	// address, as authoritative servers do.
	DefaultListen = ":53"
	// DefaultDataDir is data_dir when omitted, relative to the config file.
	DefaultDataDir = "data"
	// DefaultAccountID is api.account_id when omitted: model.DeriveID("account", "lbdns").
	DefaultAccountID = "f64c8325e8bd6a92fb372581ae100b1b"
	// DefaultLogLevel and DefaultLogFormat are the log section's defaults (CONTRACT §1: JSON
	// lines, `--log-format console` for humans).
	DefaultLogLevel  = "info"
	DefaultLogFormat = "json"
	// DefaultTransferPort is the port of primaries and also_notify entries given without one
	// (ruling 37).
	DefaultTransferPort = "53"
)

// Token scopes (ruling 29).
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// TSIG algorithms accepted in zones[].tsig.algorithm.
var TSIGAlgorithms = []string{"hmac-sha256", "hmac-sha384", "hmac-sha512"}

// Config is the whole configuration file.
type Config struct {
	Server        Server               `json:"server"`
	API           *API                 `json:"api,omitempty"`     // nil: no management API
	Metrics       *Metrics             `json:"metrics,omitempty"` // nil: no metrics listener
	DataDir       string               `json:"data_dir,omitempty"`
	GeoIP         *GeoIP               `json:"geoip,omitempty"` // nil: no GeoIP (ruling 10)
	Zones         []Zone               `json:"zones,omitempty"`
	Monitors      []model.Monitor      `json:"monitors,omitempty"`
	MonitorGroups []model.MonitorGroup `json:"monitor_groups,omitempty"`
	Pools         []model.Pool         `json:"pools,omitempty"`
	LoadBalancers []model.LoadBalancer `json:"load_balancers,omitempty"`
	Notifications []Notification       `json:"notifications,omitempty"`
	Log           Log                  `json:"log"`

	// File is the absolute path of the loaded file ("" when parsed from memory).
	File string `json:"-"`
	dir  string // directory of File: relative paths are resolved against it
	// lines: the line of each field path in the file (for problems found after Load).
	lines map[string]int
}

// Server is the DNS listener section.
type Server struct {
	Listen StringList `json:"listen"` // host:port, each serves UDP and TCP
	PoP    model.PoP  `json:"pop"`
	// UDPSockets is the number of UDP sockets per address (SO_REUSEPORT); 0 = GOMAXPROCS.
	UDPSockets int `json:"udp_sockets,omitempty"`
}

// API is the management API section.
type API struct {
	Listen    string  `json:"listen"`
	AccountID string  `json:"account_id"`
	Tokens    []Token `json:"tokens"`
}

// Token is one bearer token of the API.
type Token struct {
	Name      string `json:"name"`
	TokenFile string `json:"token_file"`
	Scope     string `json:"scope"` // read | write
	// Secret is the token read from TokenFile; never serialised.
	Secret string `json:"-"`
}

// Metrics is the metrics section (GET /metrics, /healthz, /readyz).
type Metrics struct {
	Listen string `json:"listen"`
}

// GeoIP is the GeoIP section.
type GeoIP struct {
	City    StringList        `json:"city"`              // one path or a list
	ASN     string            `json:"asn,omitempty"`     // optional
	Regions map[string]string `json:"regions,omitempty"` // overrides of the region table (ruling 10b)
}

// Zone is one served zone: a primary (File) or a secondary (Primaries).
type Zone struct {
	Name          string   `json:"name"`
	File          string   `json:"file,omitempty"`
	Primaries     []string `json:"primaries,omitempty"` // ip:port (port 53 added when omitted)
	TSIG          *TSIG    `json:"tsig,omitempty"`
	AlsoNotify    []string `json:"also_notify,omitempty"`    // ip:port (port 53 added when omitted)
	AllowTransfer []string `json:"allow_transfer,omitempty"` // CIDRs or IPs
}

// TSIG is a zone's transfer key.
type TSIG struct {
	Name       string `json:"name"`
	Algorithm  string `json:"algorithm"`
	SecretFile string `json:"secret_file"`
	// Secret is the base64 key read from SecretFile; never serialised.
	Secret string `json:"-"`
}

// Notification is a health-change webhook.
type Notification struct {
	Name        string   `json:"name"`
	Webhook     string   `json:"webhook"`
	Pools       []string `json:"pools"`        // ids or names (resolved to ids); empty = all pools
	EventSource []string `json:"event_source"` // pool | origin; empty = both
	NewHealth   []string `json:"new_health"`   // Healthy | Unhealthy; empty = both
}

// Log is the optional log section.
type Log struct {
	Level  string `json:"level,omitempty"`  // trace | debug | info | warn | error
	Format string `json:"format,omitempty"` // json | console
}

// StringList is a list of strings that also accepts a single string ("a" = ["a"]).
type StringList []string

// UnmarshalJSON accepts a string or a list of strings.
func (s *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*s = many
	return nil
}

// Catalog returns the load-balancing objects of the file (normalised and resolved by Load) in
// new slices; the objects' pointer fields are shared with c.
func (c *Config) Catalog() *model.Catalog {
	return &model.Catalog{
		Monitors:      slices.Clone(c.Monitors),
		MonitorGroups: slices.Clone(c.MonitorGroups),
		Pools:         slices.Clone(c.Pools),
		LoadBalancers: slices.Clone(c.LoadBalancers),
	}
}

// ZoneNames returns the names of the configured zones (lower case, no trailing dot).
func (c *Config) ZoneNames() []string {
	names := make([]string, 0, len(c.Zones))
	for _, z := range c.Zones {
		names = append(names, model.NormalizeName(z.Name))
	}
	return names
}

// Zone returns the configured zone that name lies in (the longest match), or nil.
func (c *Config) Zone(name string) *Zone {
	var best *Zone
	for i := range c.Zones {
		z := &c.Zones[i]
		zn := model.NormalizeName(z.Name)
		if model.InZone(name, zn) && (best == nil || len(zn) > len(model.NormalizeName(best.Name))) {
			best = z
		}
	}
	return best
}
