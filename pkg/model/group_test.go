package model

import "testing"

func goodGroup() *MonitorGroup {
	g := &MonitorGroup{Name: "checks", Members: []MonitorGroupMember{{MonitorID: "a"}, {MonitorID: "b", MustBeHealthy: true}}}
	NormalizeMonitorGroup(g)
	return g
}

func TestValidateMonitorGroup(t *testing.T) {
	cases := []struct {
		name string
		edit func(g *MonitorGroup)
		want *want
	}{
		{"defaults are valid", func(g *MonitorGroup) {}, nil},
		{"no members", func(g *MonitorGroup) { g.Members = nil }, &want{"members", "at least one member", false}},
		{"empty monitor_id", func(g *MonitorGroup) { g.Members[1].MonitorID = "" }, &want{"members[1].monitor_id", "needs a monitor_id", false}},
		{"duplicate member", func(g *MonitorGroup) { g.Members[1].MonitorID = "a" }, &want{"members[1].monitor_id", `monitor "a" is a member twice (also members[0])`, false}},
		{"no name", func(g *MonitorGroup) { g.Name = "" }, &want{"name", "needs a name", false}},
		{"id instead of name", func(g *MonitorGroup) { g.Name, g.ID = "", "abc" }, nil},
		{"bad id", func(g *MonitorGroup) { g.ID = "a b" }, &want{"id", "not a valid id", false}},
		{"none enabled", func(g *MonitorGroup) {
			g.Members[0].Enabled, g.Members[1].Enabled = Ptr(false), Ptr(false)
		}, &want{"members", "no member is enabled", true}},
		{"must and monitoring only", func(g *MonitorGroup) { g.Members[1].MonitoringOnly = true }, &want{"members[1]", "must_be_healthy and monitoring_only", true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := goodGroup()
			c.edit(g)
			check(t, ValidateMonitorGroup(g, ""), c.want)
		})
	}
	if ps := ValidateMonitorGroup(&MonitorGroup{Name: "x"}, "monitor_groups[3]"); len(ps) != 1 || ps[0].Path != "monitor_groups[3].members" {
		t.Fatalf("prefix: %v", ps)
	}
}

func groupCatalog() *Catalog {
	return &Catalog{
		Monitors: []Monitor{{Name: "http"}, {Name: "tcp", Type: MonitorTCP}},
		MonitorGroups: []MonitorGroup{{Name: "both", Members: []MonitorGroupMember{
			{MonitorID: "http"}, {MonitorID: DeriveID(KindMonitor, "tcp")},
		}}},
		Pools: []Pool{{Name: "p", MonitorGroup: "both", Origins: []Origin{{Name: "a", Address: "192.0.2.1"}}}},
	}
}

func TestResolveMonitorGroups(t *testing.T) {
	c := groupCatalog()
	c.Normalize()
	if ps := c.Resolve(); len(ps) != 0 {
		t.Fatalf("resolve: %v", ps)
	}
	gid := DeriveID(KindMonitorGroup, "both")
	if c.MonitorGroups[0].ID != gid {
		t.Fatalf("group id %q, want %q", c.MonitorGroups[0].ID, gid)
	}
	if c.Pools[0].MonitorGroup != gid {
		t.Fatalf("pool monitor_group %q, want %q", c.Pools[0].MonitorGroup, gid)
	}
	m := c.MonitorGroups[0].Members
	if m[0].MonitorID != DeriveID(KindMonitor, "http") || m[1].MonitorID != DeriveID(KindMonitor, "tcp") {
		t.Fatalf("members %+v", m)
	}
	if !Bool(m[0].Enabled, false) {
		t.Fatal("member not enabled by default")
	}
	if ps := c.Validate(nil); ps.HasErrors() || len(ps) != 0 {
		t.Fatalf("validate: %v", ps)
	}
	if c.MonitorGroup(gid) == nil || c.MonitorGroup("nope") != nil {
		t.Fatal("Catalog.MonitorGroup")
	}
}

func TestMonitorGroupProblems(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Catalog)
		want want
	}{
		{"unknown member monitor", func(c *Catalog) { c.MonitorGroups[0].Members[1].MonitorID = "nope" },
			want{"monitor_groups[0].members[1].monitor_id", `unknown monitor "nope"`, false}},
		{"unknown group on pool", func(c *Catalog) { c.Pools[0].MonitorGroup = "nope" },
			want{"pools[0].monitor_group", `unknown monitor group "nope"`, false}},
		{"duplicate group name", func(c *Catalog) { c.MonitorGroups = append(c.MonitorGroups, c.MonitorGroups[0]) },
			want{"monitor_groups[1].name", `duplicate name "both"`, false}},
		{"duplicate member by name and id", func(c *Catalog) { c.MonitorGroups[0].Members[1].MonitorID = DeriveID(KindMonitor, "http") },
			want{"monitor_groups[0].members[1].monitor_id", "is a member twice", false}},
		{"empty members", func(c *Catalog) { c.MonitorGroups[0].Members = nil },
			want{"monitor_groups[0].members", "at least one member", false}},
		{"monitor and group", func(c *Catalog) { c.Pools[0].Monitor = "http" },
			want{"pools[0].monitor_group", "not both", false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := groupCatalog()
			tc.edit(c)
			c.Normalize()
			ps := c.Resolve()
			ps.Add(c.Validate(nil))
			check(t, ps, &tc.want)
		})
	}
}
