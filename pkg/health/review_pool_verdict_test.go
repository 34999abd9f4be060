package health

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// A pool is not judged Critical while origins still unknown could make it healthy: during the
// start-up round a fast failure (port unreachable) that precedes a slow success (a udp_icmp
// probe passes only at its timeout) must not make a pool Unhealthy event and webhook followed
// by a Healthy one.
func TestReviewPoolUndeterminedDuringFirstRound(t *testing.T) {
	clk := newClock()
	p, _ := testProber(t, Options{Now: clk.Now})
	m := mon(model.MonitorTCP)
	pool := model.Pool{ID: "pool1", Name: "web", Monitor: m.ID, Origins: []model.Origin{
		origin("a", "127.0.0.1", 1001), origin("b", "127.0.0.1", 1002),
	}}
	p.Update(catalog(m, pool))

	clk.Advance(time.Second)
	p.record(findTarget(t, p, "pool1", 1), fail()) // b fails at once, a still unknown
	p.publish()
	if st := p.View().Pool("pool1"); st.State != PoolUnknown || st.Healthy {
		t.Fatalf("one failed, one unknown, minimum_origins 1: %+v, want Health unknown (and not healthy)", st)
	}
	p.record(findTarget(t, p, "pool1", 0), pass(5))
	p.publish()
	if st := p.View().Pool("pool1"); st.State != PoolDegraded || !st.Healthy {
		t.Fatalf("after the first round: %+v", st)
	}
	var pools []string
	for _, e := range p.View().Events(0) {
		if e.EventSource == SourcePool {
			pools = append(pools, e.NewHealth)
		}
	}
	if len(pools) != 1 || pools[0] != HealthHealthy {
		t.Fatalf("pool events %v, want one Healthy", pools)
	}

	// Both failed: Critical, one Unhealthy event. A new origin added (unknown) leaves the pool
	// undetermined, and its failure makes no second Unhealthy event.
	p.record(findTarget(t, p, "pool1", 0), fail())
	p.publish()
	if st := p.View().Pool("pool1"); st.State != PoolCritical {
		t.Fatalf("both down: %+v", st)
	}
	pool.Origins = append(pool.Origins, origin("c", "127.0.0.1", 1003))
	p.Update(catalog(m, pool))
	if st := p.View().Pool("pool1"); st.Healthy {
		t.Fatalf("with c unknown: %+v", st)
	}
	p.record(findTarget(t, p, "pool1", 2), fail())
	p.publish()
	if st := p.View().Pool("pool1"); st.State != PoolCritical {
		t.Fatalf("all down: %+v", st)
	}
	pools = nil
	for _, e := range p.View().Events(0) {
		if e.EventSource == SourcePool {
			pools = append(pools, e.NewHealth)
		}
	}
	if len(pools) != 2 || pools[0] != HealthUnhealthy || pools[1] != HealthHealthy {
		t.Fatalf("pool events (newest first) %v, want [Unhealthy Healthy]", pools)
	}

	// minimum_origins above what the unknown origins could reach: Critical at once.
	p2, _ := testProber(t, Options{Now: clk.Now})
	pool2 := model.Pool{ID: "pool2", Name: "min", Monitor: m.ID, MinimumOrigins: model.Ptr(2), Origins: []model.Origin{
		origin("a", "127.0.0.1", 1001), origin("b", "127.0.0.1", 1002),
	}}
	p2.Update(catalog(m, pool2))
	p2.record(findTarget(t, p2, "pool2", 0), fail())
	p2.publish()
	if st := p2.View().Pool("pool2"); st.State != PoolCritical {
		t.Fatalf("cannot reach minimum_origins: %+v", st)
	}
}

// A udp_icmp probe that passes by silence waits out its timeout; its RTT (dynamic_latency,
// ruling 12) is the echo's round trip, not the timeout.
func TestReviewUDPICMPRTTIsEcho(t *testing.T) {
	p, _ := testProber(t, Options{})
	if p.icmpMode() == icmpNone {
		t.Skip("no ICMP socket here: the udp_icmp probe has no echo to time")
	}
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close() // open and silent
	m := mon(model.MonitorUDPICMP, func(m *model.Monitor) { m.Timeout = 1 })
	r := p.Probe(context.Background(), m, origin("u", "127.0.0.1", uint16(u.LocalAddr().(*net.UDPAddr).Port)), "p")
	if !r.Healthy {
		t.Fatalf("silent open port: %+v", r)
	}
	if r.RTT <= 0 || r.RTT >= 500*time.Millisecond {
		t.Fatalf("RTT %v: want the loopback echo's round trip, not the 1 s timeout", r.RTT)
	}
}

// A restart with the health state of data_dir restores the pools' verdicts too: an unhealthy
// pool that is still unhealthy makes no new "Unhealthy" event (nor webhook) at every start.
func TestReviewRestartKeepsPoolVerdict(t *testing.T) {
	dir := t.TempDir()
	m := mon(model.MonitorTCP)
	pool := model.Pool{ID: "pool1", Name: "web", Monitor: m.ID, Origins: []model.Origin{origin("a", "127.0.0.1", 1001)}}
	poolEvents := func(p *Prober) (out []Event) {
		for _, e := range p.View().Events(0) {
			if e.EventSource == SourcePool {
				out = append(out, e)
			}
		}
		return out
	}

	p1, _ := testProber(t, Options{DataDir: dir})
	p1.Update(catalog(m, pool))
	p1.record(findTarget(t, p1, "pool1", 0), fail())
	p1.publish()
	if evs := poolEvents(p1); len(evs) != 1 || evs[0].NewHealth != HealthUnhealthy || !evs[0].Initial {
		t.Fatalf("first run pool events %+v", evs)
	}
	if err := p1.save(); err != nil {
		t.Fatal(err)
	}

	p2, _ := testProber(t, Options{DataDir: dir})
	p2.Update(catalog(m, pool))
	if st := p2.View().Pool("pool1"); st.State != PoolCritical {
		t.Fatalf("restored pool %+v", st)
	}
	p2.record(findTarget(t, p2, "pool1", 0), fail())
	p2.publish()
	if evs := poolEvents(p2); len(evs) != 0 {
		t.Fatalf("after restart, still down: pool events %+v, want none", evs)
	}
	p2.record(findTarget(t, p2, "pool1", 0), pass(3))
	p2.publish()
	if evs := poolEvents(p2); len(evs) != 1 || evs[0].NewHealth != HealthHealthy || evs[0].Initial {
		t.Fatalf("recovery after restart: pool events %+v, want one non-initial Healthy", evs)
	}
}
