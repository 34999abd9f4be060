package health

import (
	"strings"
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// groupCatalog: monitors a, b, c (tcp, different ids), d monitoring-only, e disabled; pool g1
// with two origins uses the group, pool m1 uses monitor a alone on the same origin.
func groupCatalog(mut func(g *model.MonitorGroup)) *model.Catalog {
	mk := func(id string, interval int) model.Monitor {
		m := mon(model.MonitorTCP)
		m.ID, m.Name, m.Interval = id, "mon-"+id, interval
		return m
	}
	g := model.MonitorGroup{ID: "grp", Name: "grp", Members: []model.MonitorGroupMember{
		{MonitorID: "a", Enabled: model.Ptr(true)},
		{MonitorID: "b", Enabled: model.Ptr(true)},
		{MonitorID: "c", Enabled: model.Ptr(true)},
		{MonitorID: "d", Enabled: model.Ptr(true), MonitoringOnly: true},
		{MonitorID: "e", Enabled: model.Ptr(false)},
	}}
	if mut != nil {
		mut(&g)
	}
	return &model.Catalog{
		Monitors:      []model.Monitor{mk("a", 5), mk("b", 10), mk("c", 30), mk("d", 5), mk("e", 5)},
		MonitorGroups: []model.MonitorGroup{g},
		Pools: []model.Pool{
			{ID: "g1", Name: "grouped", MonitorGroup: "grp", Origins: []model.Origin{origin("x", "127.0.0.1", 1001), origin("y", "127.0.0.2", 1001)}},
			{ID: "m1", Name: "single", Monitor: "a", Origins: []model.Origin{origin("x", "127.0.0.1", 1001)}},
		},
	}
}

func memberTarget(t *testing.T, p *Prober, pool string, origin, member int) *target {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pd := range p.pools {
		if pd.id == pool && pd.members != nil && pd.members[origin][member] != nil {
			return pd.members[origin][member]
		}
	}
	t.Fatalf("no member target %s/%d/%d", pool, origin, member)
	return nil
}

func TestMonitorGroupProber(t *testing.T) {
	clk := newClock()
	p, _ := testProber(t, Options{Now: clk.Now})
	p.Update(groupCatalog(nil))

	// Targets: 2 origins × 4 enabled members; m1 shares (a, 127.0.0.1:1001) with g1.
	if n := len(p.targets); n != 8 {
		t.Fatalf("%d targets, want 8 (disabled member not probed, shared target)", n)
	}
	if memberTarget(t, p, "g1", 0, 0) != findTarget(t, p, "m1", 0) {
		t.Fatal("the same (monitor, address, port) is not shared between pools")
	}
	v := p.View()
	if o := v.Origin("g1", 0); o.State != Unknown || !o.Monitored {
		t.Fatalf("before probes: %+v", o)
	}
	if st := v.Pool("g1"); !st.Monitored || st.Healthy {
		t.Fatalf("pool before probes: %+v", st)
	}

	// set records a result for members of origin 0 (a, b, c, d); nil skips.
	set := func(rs ...*Result) *View {
		t.Helper()
		clk.Advance(time.Second)
		for j, r := range rs {
			if r != nil {
				p.record(memberTarget(t, p, "g1", 0, j), *r)
			}
		}
		for j := 0; j < 4; j++ { // origin 1 always passes
			p.record(memberTarget(t, p, "g1", 1, j), pass(50))
		}
		p.publish()
		return p.View()
	}
	ok := func(ms int) *Result { r := pass(ms); return &r }
	bad := &Result{Reason: ReasonTCPFailed}

	v = set(ok(10), ok(20), ok(60), ok(1000))
	o := v.Origin("g1", 0)
	if o.State != Healthy || o.Reason != ReasonOK || o.RTT != 30*time.Millisecond {
		t.Fatalf("all up: %+v (RTT = mean of a, b, c; d is monitoring only)", o)
	}
	if ms, ok := v.PoolRTT("g1"); !ok || ms != 40 { // mean over origins of (30, 50)
		t.Fatalf("pool rtt %v %v", ms, ok)
	}

	// (a) one of three voting members fails: still healthy, the reason names it.
	v = set(nil, nil, bad, nil)
	if o := v.Origin("g1", 0); o.State != Healthy || !strings.Contains(o.Reason, "mon-c: "+ReasonTCPFailed) {
		t.Fatalf("one of three down: %+v", o)
	}
	// (b) two of three: unhealthy, naming both; the pool is Degraded.
	v = set(nil, bad, nil, nil)
	o = v.Origin("g1", 0)
	if o.State != Unhealthy || !strings.Contains(o.Reason, "2 of 3 voting members fail") || !strings.Contains(o.Reason, "mon-b") || !strings.Contains(o.Reason, "mon-c") {
		t.Fatalf("two of three down: %+v", o)
	}
	if st := v.Pool("g1"); st.State != PoolDegraded || st.HealthyOrigins != 1 {
		t.Fatalf("pool: %+v", st)
	}
	if o1 := v.Origin("m1", 0); o1.State != Healthy {
		t.Fatalf("the single-monitor pool follows monitor a only: %+v", o1)
	}
	evs := v.Events(0)
	if len(evs) == 0 || evs[0].EventSource != SourceOrigin || evs[0].Pool.ID != "g1" || evs[0].NewHealth != HealthUnhealthy || evs[0].Initial {
		t.Fatalf("newest event: %+v", evs[0])
	}
	// Back up: c recovers; then a monitoring-only failure changes nothing.
	v = set(nil, nil, ok(10), bad)
	if o := v.Origin("g1", 0); o.State != Healthy || !strings.Contains(o.Reason, "(monitoring only)") {
		t.Fatalf("monitoring only down: %+v", o)
	}
	n := len(v.Events(0))
	v = set(nil, ok(10), nil, nil)
	if got := len(v.Events(0)); got != n {
		t.Fatalf("a member change that does not change the origin made %d events", got-n)
	}

	// (c) a must_be_healthy member failing alone makes the origin unhealthy.
	p.Update(groupCatalog(func(g *model.MonitorGroup) { g.Members[0].MustBeHealthy = true }))
	v = p.View()
	if o := v.Origin("g1", 0); o.State != Healthy {
		t.Fatalf("after update, state kept: %+v", o)
	}
	v = set(bad, nil, nil, nil)
	if o := v.Origin("g1", 0); o.State != Unhealthy || !strings.Contains(o.Reason, "must_be_healthy member fails: mon-a") {
		t.Fatalf("must be healthy down: %+v", o)
	}

	// Disabling every member: nothing is probed and the origin is not held down.
	p.Update(groupCatalog(func(g *model.MonitorGroup) {
		for i := range g.Members {
			g.Members[i].Enabled = model.Ptr(false)
		}
	}))
	v = p.View()
	if o := v.Origin("g1", 0); o.State != Healthy || o.Reason != ReasonNoMembers {
		t.Fatalf("no enabled member: %+v", o)
	}
	// An unknown group is a config error for the pool.
	cat := groupCatalog(nil)
	cat.MonitorGroups = nil
	p.Update(cat)
	if o := p.View().Origin("g1", 0); o.Reason != ReasonConfig || o.State != Unknown {
		t.Fatalf("missing group: %+v", o)
	}
}
