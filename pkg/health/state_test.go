package health

import (
	"fmt"
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

func pass(ms int) Result {
	return Result{Healthy: true, Reason: ReasonOK, Code: 200, RTT: time.Duration(ms) * time.Millisecond}
}

func fail() Result { return Result{Reason: ReasonTCPFailed} }

func TestStateMachine(t *testing.T) {
	P, F := true, false
	cases := []struct {
		name     string
		up, down int
		results  []bool
		want     []State // state after each result
	}{
		{"first result decides", 3, 3, []bool{P}, []State{Healthy}},
		{"first failure decides", 3, 3, []bool{F}, []State{Unhealthy}},
		{"down 1", 1, 1, []bool{P, F, P}, []State{Healthy, Unhealthy, Healthy}},
		{"down 2", 1, 2, []bool{P, F, F, F}, []State{Healthy, Healthy, Unhealthy, Unhealthy}},
		{"up 3", 3, 1, []bool{F, P, P, F, P, P, P}, []State{Unhealthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy}},
		{"flapping with hysteresis stays", 2, 2, []bool{P, F, P, F, P, F, P}, []State{Healthy, Healthy, Healthy, Healthy, Healthy, Healthy, Healthy}},
		{"flapping without hysteresis follows", 1, 1, []bool{P, F, P, F}, []State{Healthy, Unhealthy, Healthy, Unhealthy}},
		{"down streak broken", 1, 3, []bool{P, F, F, P, F, F, F}, []State{Healthy, Healthy, Healthy, Healthy, Healthy, Healthy, Unhealthy}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			var tr track
			for i, ok := range c.results {
				clk.Advance(10 * time.Second)
				r := fail()
				if ok {
					r = pass(10)
				}
				from, changed := tr.apply(r, c.up, c.down, clk.Now())
				if tr.state != c.want[i] {
					t.Fatalf("after result %d: %v, want %v", i, tr.state, c.want[i])
				}
				if changed != (from != tr.state) {
					t.Fatalf("changed=%v from %v to %v", changed, from, tr.state)
				}
				if changed && !tr.changed.Equal(clk.Now()) {
					t.Fatalf("changed time %v", tr.changed)
				}
				if !tr.lastProbe.Equal(clk.Now()) {
					t.Fatalf("lastProbe %v", tr.lastProbe)
				}
			}
		})
	}
}

func TestEWMA(t *testing.T) {
	var tr track
	now := time.Now()
	tr.apply(pass(100), 1, 1, now)
	tr.apply(pass(200), 1, 1, now)
	tr.apply(fail(), 1, 1, now) // failures do not feed the average
	if want := 0.2*200 + 0.8*100; tr.ewma != want {
		t.Fatalf("ewma %v, want %v", tr.ewma, want)
	}
}

// catalog builds a catalog with one tcp monitor and the given pools.
func catalog(m model.Monitor, pools ...model.Pool) *model.Catalog {
	return &model.Catalog{Monitors: []model.Monitor{m}, Pools: pools}
}

func findTarget(t *testing.T, p *Prober, pool string, i int) *target {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pd := range p.pools {
		if pd.id == pool && pd.targets[i] != nil {
			return pd.targets[i]
		}
	}
	t.Fatalf("no target %s/%d", pool, i)
	return nil
}

func TestViewPoolStates(t *testing.T) {
	clk := newClock()
	p, _ := testProber(t, Options{Now: clk.Now})
	m := mon(model.MonitorTCP, func(m *model.Monitor) { m.ConsecutiveDown = 1; m.ConsecutiveUp = 1 })
	pool := model.Pool{ID: "pool1", Name: "web", Monitor: m.ID, MinimumOrigins: model.Ptr(2), Origins: []model.Origin{
		origin("a", "127.0.0.1", 1001), origin("b", "127.0.0.1", 1002), origin("c", "127.0.0.1", 1003),
		{Name: "off", Address: "127.0.0.1", Port: 1004, Enabled: model.Ptr(false)},
	}}
	bare := model.Pool{ID: "pool2", Name: "bare", Origins: []model.Origin{origin("x", "127.0.0.2", 80)}}
	off := model.Pool{ID: "pool3", Name: "off", Enabled: model.Ptr(false), Monitor: m.ID, Origins: []model.Origin{origin("y", "127.0.0.3", 80)}}
	p.Update(catalog(m, pool, bare, off))

	v := p.View()
	if st := v.Pool("pool1"); st.State != PoolUnknown || st.Healthy || !st.Monitored {
		t.Fatalf("before probes: %+v", st)
	}
	if o := v.Origin("pool1", 0); o.State != Unknown || o.Reason != ReasonNotProbed || !o.Monitored {
		t.Fatalf("origin before probes: %+v", o)
	}
	if st := v.Pool("pool2"); st.State != PoolUnknown || !st.Healthy || st.Monitored {
		t.Fatalf("no monitor: %+v", st)
	}
	if st := v.Pool("pool3"); st.Monitored || st.Enabled {
		t.Fatalf("disabled pool: %+v", st)
	}
	if o := v.Origin("pool1", 3); o.Monitored || o.Enabled {
		t.Fatalf("disabled origin: %+v", o)
	}
	if len(p.targets) != 3 {
		t.Fatalf("%d targets, want 3 (disabled pool and origin not probed)", len(p.targets))
	}

	step := func(results ...Result) *View {
		t.Helper()
		clk.Advance(10 * time.Second)
		for i, r := range results {
			p.record(findTarget(t, p, "pool1", i), r)
		}
		p.publish()
		return p.View()
	}
	v = step(pass(10), pass(20), pass(30))
	if st := v.Pool("pool1"); st.State != PoolHealthy || !st.Healthy || st.HealthyOrigins != 3 || st.EnabledOrigins != 3 || !st.Changed.Equal(clk.Now()) {
		t.Fatalf("all up: %+v", st)
	}
	if ms, ok := v.PoolRTT("pool1"); !ok || ms != 20 {
		t.Fatalf("rtt %v %v", ms, ok)
	}
	if o := v.Origin("pool1", 1); o.State != Healthy || o.Reason != ReasonOK || o.Code != 200 || o.RTT != 20*time.Millisecond {
		t.Fatalf("origin: %+v", o)
	}
	changedAt := clk.Now()
	v = step(pass(10), pass(20), fail())
	if st := v.Pool("pool1"); st.State != PoolDegraded || !st.Healthy || !st.Changed.Equal(clk.Now()) {
		t.Fatalf("one down: %+v", st)
	}
	if o := v.Origin("pool1", 2); o.State != Unhealthy || o.Reason != ReasonTCPFailed || !o.Changed.Equal(clk.Now()) {
		t.Fatalf("origin c: %+v", o)
	}
	if o := v.Origin("pool1", 0); !o.Changed.Equal(changedAt) || !o.LastProbe.Equal(clk.Now()) {
		t.Fatalf("origin a: %+v", o)
	}
	if ms, _ := v.PoolRTT("pool1"); ms != 15 {
		t.Fatalf("rtt over healthy origins %v, want 15", ms)
	}
	v = step(pass(10), fail(), fail())
	if st := v.Pool("pool1"); st.State != PoolCritical || st.Healthy {
		t.Fatalf("two down: %+v", st)
	}
	if got := v.LB("pool1", "pool2"); got != LBDegraded {
		t.Fatalf("lb %v", got)
	}
	if got := v.LB("pool1"); got != LBCritical {
		t.Fatalf("lb %v", got)
	}
	if got := v.LB("pool2"); got != LBHealthy {
		t.Fatalf("lb %v", got)
	}
	if _, states := v.LBStatus([]string{"pool1"}, "pool2"); states["pool2"] != PoolNoHealth || states["pool1"] != PoolCritical {
		t.Fatalf("states %v", states)
	}

	// Events: three origins' first verdicts, pool's first verdict, c down + nothing for the
	// pool (still healthy, Degraded), b down + pool Unhealthy.
	evs := v.Events(0)
	var got []string
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		name := ""
		if e.EventSource == SourceOrigin {
			name = e.Origins[0].Name
		}
		got = append(got, e.EventSource+":"+name+":"+e.NewHealth)
	}
	want := []string{"origin:a:Healthy", "origin:b:Healthy", "origin:c:Healthy", "pool::Healthy",
		"origin:c:Unhealthy", "origin:b:Unhealthy", "pool::Unhealthy"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	last := evs[0]
	if last.Pool.ID != "pool1" || last.Pool.Name != "web" || last.Pool.Healthy || last.Pool.MinimumOrigins != 2 || len(last.Origins) != 4 {
		t.Fatalf("pool event %+v", last)
	}
	if o := last.Origins[2]; o.Name != "c" || o.IP != "127.0.0.1" || o.Healthy || o.FailureReason != ReasonTCPFailed || !o.Enabled {
		t.Fatalf("event origin %+v", o)
	}
	if len(v.Events(2)) != 2 || v.Events(2)[0].ID <= v.Events(2)[1].ID {
		t.Fatalf("Events(2) not newest first")
	}
}

func TestJitter(t *testing.T) {
	p, _ := testProber(t, Options{})
	m := mon(model.MonitorTCP, func(m *model.Monitor) { m.Interval = 10 })
	var origins []model.Origin
	for i := 0; i < 200; i++ {
		origins = append(origins, origin("o", "127.0.0.1", uint16(1000+i)))
	}
	p.Update(catalog(m, model.Pool{ID: "p", Name: "p", Monitor: m.ID, Origins: origins}))
	iv := 10 * time.Second
	var lo, hi time.Duration = iv, 0
	for i := range origins {
		tgt := findTarget(t, p, "p", i)
		before := time.Now()
		p.record(tgt, pass(1))
		d := tgt.next.Sub(before)
		lo, hi = min(lo, d), max(hi, d)
		if d < iv/2 || d > iv+time.Second {
			t.Fatalf("second probe in %v, want within [%v, %v]", d, iv/2, iv)
		}
		// Later probes keep the period.
		prev := tgt.next
		p.record(tgt, pass(1))
		if got := tgt.next.Sub(prev); got != iv {
			t.Fatalf("period %v", got)
		}
	}
	if hi-lo < iv/4 {
		t.Fatalf("second probes not spread: %v..%v", lo, hi)
	}
}

func TestSharedTargetsAndUpdate(t *testing.T) {
	clk := newClock()
	p, _ := testProber(t, Options{Now: clk.Now})
	m := mon(model.MonitorTCP)
	o := origin("a", "127.0.0.1", 1001)
	p1 := model.Pool{ID: "p1", Name: "one", Monitor: m.ID, Origins: []model.Origin{o}}
	p2 := model.Pool{ID: "p2", Name: "two", Monitor: m.ID, Origins: []model.Origin{origin("b", "127.0.0.1", 1002), o}}
	p.Update(catalog(m, p1, p2))
	if len(p.targets) != 2 {
		t.Fatalf("%d targets, want 2: pools share the origin's probe", len(p.targets))
	}
	tgt := findTarget(t, p, "p1", 0)
	if findTarget(t, p, "p2", 1) != tgt {
		t.Fatal("shared origin has two targets")
	}
	p.record(tgt, fail())
	p.publish()
	if p.View().Origin("p2", 1).State != Unhealthy || p.View().Origin("p1", 0).State != Unhealthy {
		t.Fatal("shared result not in both pools")
	}
	// An update that keeps the target keeps its state; a new origin starts unknown.
	p2.Origins = append(p2.Origins, origin("c", "127.0.0.1", 1003))
	p.Update(catalog(m, p1, p2))
	if findTarget(t, p, "p1", 0) != tgt || p.View().Origin("p1", 0).State != Unhealthy {
		t.Fatal("state lost on update")
	}
	if p.View().Origin("p2", 2).State != Unknown {
		t.Fatal("new origin not unknown")
	}
	// A changed monitor keeps the state but is due at once.
	m.Timeout = 3
	p.Update(catalog(m, p1, p2))
	if p.View().Origin("p1", 0).State != Unhealthy || tgt.spec.timeout != 3*time.Second || tgt.next.After(time.Now()) {
		t.Fatal("monitor change")
	}
	// Removing the monitor stops probing.
	p1.Monitor, p2.Monitor = "", ""
	p.Update(catalog(m, p1, p2))
	if len(p.targets) != 0 || len(p.queue) != 0 || !tgt.removed {
		t.Fatalf("targets %d queue %d", len(p.targets), len(p.queue))
	}
}

func TestMissingMonitor(t *testing.T) {
	p, _ := testProber(t, Options{})
	p.Update(&model.Catalog{Pools: []model.Pool{{ID: "p", Name: "p", Monitor: "gone", Origins: []model.Origin{origin("a", "127.0.0.1", 80)}}}})
	v := p.View()
	if st := v.Pool("p"); !st.Monitored || st.Healthy || st.State != PoolUnknown {
		t.Fatalf("pool %+v", st)
	}
	if o := v.Origin("p", 0); o.Reason != ReasonConfig || o.State != Unknown {
		t.Fatalf("origin %+v", o)
	}
	if len(p.targets) != 0 {
		t.Fatal("probed without a monitor")
	}
}

func benchProber(b *testing.B, n int) *Prober {
	p := New(Options{})
	m := mon(model.MonitorTCP)
	cat := &model.Catalog{Monitors: []model.Monitor{m}}
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			cat.Pools = append(cat.Pools, model.Pool{ID: fmt.Sprintf("pool%d", i/100), Name: "p", Monitor: m.ID})
		}
		pl := &cat.Pools[len(cat.Pools)-1]
		pl.Origins = append(pl.Origins, origin("o", fmt.Sprintf("127.0.%d.%d", i/250, 1+i%250), 80))
	}
	p.Update(cat)
	return p
}

// BenchmarkViewOrigin is the query path's read of an origin's health.
func BenchmarkViewOrigin(b *testing.B) {
	v := benchProber(b, 5000).View()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if v.Origin("pool7", i%100).State != Unknown {
			b.Fatal("state")
		}
	}
}

// BenchmarkPublish5000 is the cost of one View of 5,000 origins (after a state change).
func BenchmarkPublish5000(b *testing.B) {
	p := benchProber(b, 5000)
	b.ReportAllocs()
	for b.Loop() {
		p.mu.Lock()
		p.dirty = true
		p.mu.Unlock()
		p.publish()
	}
}
