package steer

import (
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

// TestCompileNormalised runs the real pipeline: names only, Normalize, Resolve, Compile.
func TestCompileNormalised(t *testing.T) {
	cat := &model.Catalog{
		Monitors: []model.Monitor{{Name: "web"}},
		Pools: []model.Pool{
			{Name: "primary", Monitor: "web", Origins: []model.Origin{{Name: "a", Address: "192.0.2.1"}, {Name: "b", Address: "192.0.2.2"}}},
			{Name: "backup", Origins: []model.Origin{{Name: "c", Address: "2001:db8::3"}, {Name: "d", Address: "192.0.2.4"}}},
		},
		LoadBalancers: []model.LoadBalancer{
			{Name: "WWW.Example.com.", DefaultPools: []string{"primary", "backup"}},
			{Name: "*.apps.example.com", DefaultPools: []string{"backup"}, SteeringPolicy: "random",
				RandomSteering: &model.RandomSteering{PoolWeights: map[string]float64{"backup": 0.5}}},
		},
	}
	cat.Normalize()
	if ps := cat.Resolve(); len(ps) > 0 {
		t.Fatalf("Resolve: %v", ps)
	}
	s, err := Compile(cat, Options{PoP: testPoP})
	if err != nil {
		t.Fatal(err)
	}
	www, wild := s.LB("www.example.com."), s.LB("*.apps.example.com.")
	if www < 0 || wild < 0 || !s.LBs[wild].Wildcard || s.LBs[www].Wildcard {
		t.Fatalf("LB lookup: %d %d", www, wild)
	}
	lb := &s.LBs[www]
	if lb.TTL != 30 || lb.Policy != PolicyDefault || lb.FallbackPool != s.Pool(cat.Pools[1].ID) || !s.Pools[0].Monitored || s.Pools[1].Monitored {
		t.Errorf("compiled LB %+v", lb.Settings)
	}
	if s.Pool("primary") != 0 || s.Pool(cat.Pools[0].ID) != 0 {
		t.Error("pools by name and id")
	}
	if w := s.LBs[wild].RandomSteering.weight(s.Pool("backup")); w != 0.5 {
		t.Errorf("pool weight %v", w)
	}
	h := newHealth(s)
	var d Decision
	s.Decide(www, env(h, 1), query("www.example.com.", qA, "192.0.2.200"), &d, nil)
	if p, o := answer(s, &d); p != "primary" || len(o) != 2 {
		t.Errorf("healthy: %s %v", p, o)
	}
	h.set("primary", "a", Down)
	s.Decide(www, env(h, 1), query("www.example.com.", qA, "192.0.2.200"), &d, nil)
	if p, o := answer(s, &d); p != "primary" || len(o) != 1 || o[0] != "b" {
		t.Errorf("a down: %s %v", p, o)
	}
	s.Decide(wild, env(h, 1), query("x.apps.example.com.", qAAAA, "192.0.2.200"), &d, nil)
	if p, o := answer(s, &d); p != "backup" || len(o) != 1 || o[0] != "c" {
		t.Errorf("wildcard AAAA: %s %v", p, o)
	}
}

// TestSessionShedding: with ip_cookie, session_percent sheds by client-key hash (ruling 16).
func TestSessionShedding(t *testing.T) {
	cat := catalog([]model.Pool{mpool("a", true, orig("192.0.2.1")), mpool("b", true, orig("192.0.2.2"))},
		mlb("lb.example.com", "off", "a", "b"))
	cat.Pools[0].LoadShedding = &model.LoadShedding{DefaultPercent: 100, SessionPercent: 40, SessionPolicy: "hash"}
	cat.LoadBalancers[0].SessionAffinity = "ip_cookie"
	s := mustCompile(t, cat)
	shed := 0
	var d Decision
	for i := range draws {
		q := withECS(query("lb.example.com.", qA, "192.0.2.200"), netipPrefix(i))
		s.Decide(0, env(newHealth(s), uint64(i)), q, &d, nil)
		if p, _ := answer(s, &d); p == "b" {
			shed++
		}
	}
	if x := chi2([]int{shed, draws - shed}, []float64{0.4, 0.6}); x > chi2Critical(1, 0.001) {
		t.Errorf("session shedding: %d of %d, want ≈ 40%% (default_percent 100 must not apply)", shed, draws)
	}
}
