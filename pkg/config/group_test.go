package config

import (
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

const groupDoc = `
zones:
  - name: example.com
    file: zones/example.com.zone
monitors:
  - { name: web, path: /health }
  - { name: login, path: /login }
  - { name: port, type: tcp }
monitor_groups:
  - name: app
    description: web and login must hold
    members:
      - { monitor_id: web }
      - { monitor_id: login, must_be_healthy: true }
      - { monitor_id: port, monitoring_only: true, enabled: false }
pools:
  - name: eu
    monitor_group: app
    origins:
      - { name: a, address: 192.0.2.1 }
load_balancers:
  - name: lb.example.com
    default_pools: [eu]
`

func TestMonitorGroupsSection(t *testing.T) {
	cfg, ps := parseIn(t, "g.yaml", groupDoc)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if len(cfg.MonitorGroups) != 1 {
		t.Fatalf("monitor_groups: %+v", cfg.MonitorGroups)
	}
	g := cfg.MonitorGroups[0]
	gid := model.DeriveID(model.KindMonitorGroup, "app")
	if g.ID != gid || g.Description != "web and login must hold" || len(g.Members) != 3 {
		t.Fatalf("group: %+v", g)
	}
	want := []model.MonitorGroupMember{
		{MonitorID: model.DeriveID(model.KindMonitor, "web"), Enabled: model.Ptr(true)},
		{MonitorID: model.DeriveID(model.KindMonitor, "login"), Enabled: model.Ptr(true), MustBeHealthy: true},
		{MonitorID: model.DeriveID(model.KindMonitor, "port"), Enabled: model.Ptr(false), MonitoringOnly: true},
	}
	for i, w := range want {
		m := g.Members[i]
		if m.MonitorID != w.MonitorID || *m.Enabled != *w.Enabled || m.MustBeHealthy != w.MustBeHealthy || m.MonitoringOnly != w.MonitoringOnly {
			t.Errorf("members[%d] = %+v, want %+v", i, m, w)
		}
	}
	if cfg.Pools[0].MonitorGroup != gid {
		t.Errorf("pool monitor_group %q, want %q", cfg.Pools[0].MonitorGroup, gid)
	}
	cat := cfg.Catalog()
	if len(cat.MonitorGroups) != 1 || cat.MonitorGroup(gid) == nil {
		t.Errorf("Catalog() lacks the group: %+v", cat.MonitorGroups)
	}

	// The same in JSON and TOML.
	js := `{"zones":[{"name":"example.com","file":"zones/example.com.zone"}],
"monitors":[{"name":"web"}],
"monitor_groups":[{"name":"app","members":[{"monitor_id":"web","must_be_healthy":true}]}],
"pools":[{"name":"eu","monitor_group":"app","origins":[{"name":"a","address":"192.0.2.1"}]}]}`
	cfg, ps = parseIn(t, "g.json", js)
	if len(ps) != 0 || len(cfg.MonitorGroups) != 1 || !cfg.MonitorGroups[0].Members[0].MustBeHealthy || cfg.Pools[0].MonitorGroup != gid {
		t.Fatalf("json: %v %+v", ps, cfg.MonitorGroups)
	}
	toml := `
[[zones]]
name = "example.com"
file = "zones/example.com.zone"
[[monitors]]
name = "web"
[[monitor_groups]]
name = "app"
[[monitor_groups.members]]
monitor_id = "web"
monitoring_only = true
[[pools]]
name = "eu"
monitor_group = "app"
[[pools.origins]]
name = "a"
address = "192.0.2.1"
`
	cfg, ps = parseIn(t, "g.toml", toml)
	if len(ps) != 0 || len(cfg.MonitorGroups) != 1 || !cfg.MonitorGroups[0].Members[0].MonitoringOnly || cfg.Pools[0].MonitorGroup != gid {
		t.Fatalf("toml: %v %+v", ps, cfg.MonitorGroups)
	}
}

func TestMonitorGroupsProblems(t *testing.T) {
	cases := []struct {
		doc, want string
		line      int
	}{
		{"monitor_groups: [{name: g, members: [{monitor_id: m, must_be_heathy: true}]}]\nmonitors: [{name: m}]\n",
			"monitor_groups[0].members[0].must_be_heathy: unknown field (did you mean must_be_healthy?)", 1},
		{"monitor_groups: [{name: g, memebers: []}]\n", "monitor_groups[0].memebers: unknown field (did you mean members?)", 1},
		{"monitors: [{name: m}]\nmonitor_groups:\n  - name: g\n    members:\n      - { monitor_id: nope }\n",
			`monitor_groups[0].members[0].monitor_id: unknown monitor "nope"`, 5},
		{"monitor_groups: [{name: g, members: []}]\n", "monitor_groups[0].members: a monitor group needs at least one member", 1},
		{"monitors: [{name: m}]\nmonitor_groups: [{name: g, members: [{monitor_id: m}, {monitor_id: m}]}]\n",
			`monitor_groups[0].members[1].monitor_id: monitor "` + model.DeriveID(model.KindMonitor, "m") + `" is a member twice (also members[0])`, 2},
		{"pools: [{name: eu, monitor_group: nope, origins: [{name: a, address: 192.0.2.1}]}]\n",
			`pools[0].monitor_group: unknown monitor group "nope"`, 1},
	}
	for _, c := range cases {
		_, ps := parseIn(t, "g.yaml", c.doc)
		found := false
		for _, p := range ps {
			if p.String() == c.want && p.Line == c.line && !p.Warning {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: want %q at line %d, got %v", c.doc, c.want, c.line, ps)
		}
	}
}
