package model

import "time"

// MonitorGroup combines several monitors into one health verdict per origin (API:
// accounts/{id}/load_balancers/monitor_groups; seed-model §8.2). A pool refers to it by
// `monitor_group` instead of `monitor`. The aggregation rule lives in pkg/health
// (GroupHealthy): a failing must_be_healthy member makes the origin unhealthy; otherwise it is
// unhealthy only when more than half of the voting members (enabled, not monitoring_only)
// fail. Timestamps use Cloudflare's names for this object (created_at, updated_at).
type MonitorGroup struct {
	ID          string               `json:"id,omitempty"`
	CreatedOn   *time.Time           `json:"created_at,omitempty"`
	ModifiedOn  *time.Time           `json:"updated_at,omitempty"`
	Name        string               `json:"name,omitempty"` // lbdns: config-file handle; the id derives from it
	Description string               `json:"description"`
	Members     []MonitorGroupMember `json:"members"`
}

// MonitorGroupMember is one monitor of a group.
type MonitorGroupMember struct {
	MonitorID      string     `json:"monitor_id"` // id, or name in the config file
	Enabled        *bool      `json:"enabled"`    // default true; false: no probes, no vote
	MonitoringOnly bool       `json:"monitoring_only"`
	MustBeHealthy  bool       `json:"must_be_healthy"`
	CreatedAt      *time.Time `json:"created_at,omitempty"` // read-only
	UpdatedAt      *time.Time `json:"updated_at,omitempty"` // read-only
}

// NormalizeMonitorGroup fills a group's defaults: every member enabled unless it says not.
func NormalizeMonitorGroup(g *MonitorGroup) {
	for i := range g.Members {
		if g.Members[i].Enabled == nil {
			g.Members[i].Enabled = Ptr(true)
		}
	}
}

// MonitorGroup returns the monitor group with the given id, or nil.
func (c *Catalog) MonitorGroup(id string) *MonitorGroup {
	for i := range c.MonitorGroups {
		if c.MonitorGroups[i].ID == id {
			return &c.MonitorGroups[i]
		}
	}
	return nil
}

// ResolveMonitorGroup replaces each member's monitor reference (id or name) by the monitor's
// id. path is the group's path ("monitor_groups[0]", or "" for the API).
func ResolveMonitorGroup(g *MonitorGroup, path string, r *Refs) Problems {
	var ps Problems
	for i := range g.Members {
		m := &g.Members[i]
		if m.MonitorID == "" {
			continue // ValidateMonitorGroup reports it
		}
		id, msg := lookup("monitor", m.MonitorID, r.monitorIDs, r.monitorNames)
		if msg != "" {
			ps.Errorf(Field(Index(Field(path, "members"), i), "monitor_id"), "%s", msg)
			continue
		}
		m.MonitorID = id
	}
	return ps
}

// ValidateMonitorGroup checks a normalised monitor group. path is its path
// ("monitor_groups[0]", or "" for the API). References to monitors are checked by Resolve
// and Catalog.Validate.
func ValidateMonitorGroup(g *MonitorGroup, path string) Problems {
	var ps Problems
	f := func(name string) string { return Field(path, name) }
	if g.ID != "" && !validID(g.ID) {
		ps.Errorf(f("id"), "%s is not a valid id (1-32 letters, digits, '-' or '_')", quote(g.ID))
	}
	if g.ID == "" && g.Name == "" {
		ps.Errorf(f("name"), "a monitor group needs a name (or an id) so pools can refer to it")
	}
	if len(g.Members) == 0 {
		ps.Errorf(f("members"), "a monitor group needs at least one member")
		return ps
	}
	seen := map[string]int{}
	enabled := 0
	for i, m := range g.Members {
		mp := Index(f("members"), i)
		if m.MonitorID == "" {
			ps.Errorf(Field(mp, "monitor_id"), "a member needs a monitor_id")
		} else if j, dup := seen[m.MonitorID]; dup {
			ps.Errorf(Field(mp, "monitor_id"), "monitor %s is a member twice (also members[%d])", quote(m.MonitorID), j)
		} else {
			seen[m.MonitorID] = i
		}
		if !Bool(m.Enabled, true) {
			continue
		}
		enabled++
		if m.MustBeHealthy && m.MonitoringOnly {
			ps.Warnf(mp, "must_be_healthy and monitoring_only together: the member does not vote, but its failure still makes the origin unhealthy")
		}
	}
	if enabled == 0 {
		ps.Warnf(f("members"), "no member is enabled: nothing is probed and the origins of its pools are never marked unhealthy")
	}
	return ps
}
