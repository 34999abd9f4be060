package api

import (
	"context"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/region"
)

// Backend is what the API needs from the rest of lbdns. The API owns no state: it reads the
// current objects from State, and every write goes through Update, which serialises writers
// and makes "persist, then publish" one step. NewMemoryBackend is the implementation lbdns
// uses; tests may provide their own.
type Backend interface {
	// State returns the current objects (file-declared and API-created). The caller must not
	// modify it.
	State() State
	// Update calls fn with the current state while holding the write lock. When fn returns a
	// change without error, Update persists it durably (fsync) and then publishes the new
	// catalog to the DNS path before it returns the new state. An error of fn is returned
	// unchanged and nothing is written. fn has already validated the change.
	Update(ctx context.Context, fn func(cur State) (Change, error)) (State, error)
	// Zones lists the zones lbdns serves.
	Zones() []Zone
	// Health returns the current health view, or nil when there is none yet.
	Health() Health
	// Probe checks every origin of pool once with monitor mon (previews, ruling 32).
	Probe(ctx context.Context, mon model.Monitor, pool model.Pool) (PoolHealth, error)
	// Events returns the retained health change events, oldest first.
	Events() []Event
	// Regions returns the region table the regions API serves (with config overrides).
	Regions() []region.Region
}

// State is one consistent view of the objects.
type State struct {
	// Catalog holds the objects normalised and resolved (references are ids): file-declared
	// objects first, in file order, then API-created ones in creation order.
	Catalog model.Catalog
	// File marks the objects declared in the config file: read-only through the API.
	File map[Ref]bool
}

// Ref names one object.
type Ref struct {
	Kind string // model.KindMonitor, model.KindMonitorGroup, model.KindPool or model.KindLoadBalancer
	ID   string
}

// FromFile reports whether the object was declared in the config file.
func (s State) FromFile(kind, id string) bool { return s.File[Ref{kind, id}] }

// Change is one atomic write: objects to create or replace (matched by id) and objects to
// delete. Put objects are complete: normalised, resolved, with their timestamps.
type Change struct {
	Put    model.Catalog
	Delete []Ref
}

// Empty reports whether the change does nothing.
func (c Change) Empty() bool {
	return len(c.Put.Monitors)+len(c.Put.MonitorGroups)+len(c.Put.Pools)+len(c.Put.LoadBalancers)+len(c.Delete) == 0
}

// Zone is a zone lbdns serves, as the zones API shows it.
type Zone struct {
	ID          string   // 32 hex characters, ZoneID(Name)
	Name        string   // lower case, no trailing dot
	NameServers []string // the zone's apex NS targets (no trailing dot); nil when unknown
}

// ZoneID is the id of the zone name: derived from the name, so stable across restarts.
func ZoneID(name string) string { return model.DeriveID("zone", model.NormalizeName(name)) }

// ZonesFromNames returns the zones of the given names with their derived ids.
func ZonesFromNames(names ...string) []Zone {
	out := make([]Zone, 0, len(names))
	for _, n := range names {
		n = model.NormalizeName(n)
		out = append(out, Zone{ID: ZoneID(n), Name: n})
	}
	return out
}

// Health is the health view the API reports (`healthy` on pools and origins, pool health).
type Health interface {
	// Pool returns the health of the pool, or false when lbdns has no verdict for it.
	Pool(poolID string) (PoolHealth, bool)
}

// PoolHealth is the health of one pool and of its origins.
type PoolHealth struct {
	Healthy bool           // false only when fewer than minimum_origins are healthy (ruling 33)
	Origins []OriginHealth // in the order of the pool's origins
}

// OriginHealth is the last probe result of one origin.
type OriginHealth struct {
	Address       string // the origin's address, the key of Cloudflare's per-origin maps
	Healthy       bool
	RTT           time.Duration
	FailureReason string // "No failures" when healthy
	ResponseCode  int
}

// Event is one health change, in the shape of Cloudflare's load balancing analytics events.
type Event struct {
	ID        int64         `json:"id"`
	Timestamp time.Time     `json:"timestamp"`
	Pool      EventPool     `json:"pool"`
	Origins   []EventOrigin `json:"origins"`
}

// EventPool is the pool part of an Event.
type EventPool struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Healthy        bool   `json:"healthy"`
	Changed        bool   `json:"changed"`
	MinimumOrigins int    `json:"minimum_origins"`
}

// EventOrigin is one origin of an Event.
type EventOrigin struct {
	Name          string `json:"name"`
	Address       string `json:"address"`
	IP            string `json:"ip"`
	Enabled       bool   `json:"enabled"`
	Healthy       bool   `json:"healthy"`
	Changed       bool   `json:"changed"`
	FailureReason string `json:"failure_reason"`
	ResponseCode  int    `json:"response_code,omitempty"`
}
