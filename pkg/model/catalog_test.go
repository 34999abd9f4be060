package model

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

func TestIDs(t *testing.T) {
	sum := sha256.Sum256([]byte("pool:eu"))
	if got, want := DeriveID(KindPool, "eu"), hex.EncodeToString(sum[:])[:32]; got != want {
		t.Fatalf("DeriveID = %s, want %s", got, want)
	}
	if DeriveID(KindPool, "eu") == DeriveID(KindMonitor, "eu") {
		t.Fatal("kinds must give different ids")
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	a, b := NewID(), NewID()
	if !hex32.MatchString(a) || !hex32.MatchString(DeriveID("x", "y")) || a == b {
		t.Fatalf("bad ids %q %q", a, b)
	}
}

func TestNormalize(t *testing.T) {
	c := &Catalog{
		Monitors:      []Monitor{{Name: "web"}, {Name: "tcp", Type: MonitorTCP}, {Name: "r0", Retries: Ptr(0)}},
		Pools:         []Pool{{Name: "eu", Origins: []Origin{{Name: "a", Address: "192.0.2.1"}}, LoadShedding: &LoadShedding{}}},
		LoadBalancers: []LoadBalancer{{Name: "WWW.Example.COM.", RandomSteering: &RandomSteering{}}},
	}
	c.Normalize()
	m := c.Monitors[0]
	if m.Type != MonitorHTTP || m.Method != "GET" || m.Path != "/" || m.ExpectedCodes != "200" ||
		m.Timeout != 5 || m.Interval != 60 || *m.Retries != 2 || m.ConsecutiveUp != 1 || m.ConsecutiveDown != 1 || m.Port != 0 {
		t.Errorf("monitor defaults: %+v", m)
	}
	if m.ID != DeriveID(KindMonitor, "web") {
		t.Errorf("monitor id %q", m.ID)
	}
	if tcp := c.Monitors[1]; tcp.Method != MethodConnectionEstablished || tcp.Path != "" || tcp.ExpectedCodes != "" {
		t.Errorf("tcp defaults: %+v", tcp)
	}
	if *c.Monitors[2].Retries != 0 {
		t.Error("explicit retries 0 must stay 0")
	}
	p := c.Pools[0]
	if !*p.Enabled || *p.MinimumOrigins != 1 || !*p.Origins[0].Enabled || *p.Origins[0].Weight != 1 ||
		p.OriginSteering.Policy != OriginRandom || p.LoadShedding.DefaultPolicy != SheddingRandom || p.LoadShedding.SessionPolicy != SheddingHash {
		t.Errorf("pool defaults: %+v", p)
	}
	lb := c.LoadBalancers[0]
	if lb.Name != "www.example.com" || !*lb.Enabled || *lb.TTL != 30 || lb.SessionAffinity != AffinityNone ||
		lb.LocationStrategy.PreferECS != "proximity" || lb.LocationStrategy.Mode != "pop" || *lb.RandomSteering.DefaultWeight != 1 {
		t.Errorf("lb defaults: %+v", lb)
	}
	if lb.ID != DeriveID(KindLoadBalancer, "www.example.com") {
		t.Errorf("lb id %q", lb.ID)
	}
	// Normalize is idempotent and keeps explicit values.
	c.LoadBalancers[0].TTL = Ptr(60)
	c.Normalize()
	if *c.LoadBalancers[0].TTL != 60 {
		t.Error("explicit ttl overwritten")
	}
}

func testCatalog() *Catalog {
	c := &Catalog{
		Monitors: []Monitor{{Name: "web"}, {ID: "00000000000000000000000000000abc", Name: "tcp", Type: MonitorTCP}},
		Pools: []Pool{
			{Name: "eu", Monitor: "web", Origins: []Origin{{Name: "a", Address: "192.0.2.1"}}},
			{Name: "us", Monitor: "00000000000000000000000000000abc", Origins: []Origin{{Name: "b", Address: "198.51.100.1"}}},
		},
		LoadBalancers: []LoadBalancer{{
			Name:           "www.example.com",
			DefaultPools:   []string{"eu", DeriveID(KindPool, "us")},
			CountryPools:   map[string][]string{"GB": {"eu"}},
			RandomSteering: &RandomSteering{PoolWeights: map[string]float64{"us": 0.5}},
			Rules:          []*Rule{{Overrides: RuleOverrides{FallbackPool: "us", RegionPools: map[string][]string{"WEU": {"eu"}}}}},
		}},
	}
	c.Normalize()
	return c
}

func TestResolve(t *testing.T) {
	c := testCatalog()
	if ps := c.Resolve(); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	eu, us := DeriveID(KindPool, "eu"), DeriveID(KindPool, "us")
	lb := c.LoadBalancers[0]
	if c.Pools[0].Monitor != DeriveID(KindMonitor, "web") || c.Pools[1].Monitor != "00000000000000000000000000000abc" {
		t.Errorf("monitors: %q %q", c.Pools[0].Monitor, c.Pools[1].Monitor)
	}
	if lb.DefaultPools[0] != eu || lb.DefaultPools[1] != us || lb.CountryPools["GB"][0] != eu {
		t.Errorf("pools: %v %v", lb.DefaultPools, lb.CountryPools)
	}
	if lb.FallbackPool != us {
		t.Errorf("fallback = %q, want the last default pool (ruling 6)", lb.FallbackPool)
	}
	if lb.RandomSteering.PoolWeights[us] != 0.5 || len(lb.RandomSteering.PoolWeights) != 1 {
		t.Errorf("weights: %v", lb.RandomSteering.PoolWeights)
	}
	if o := lb.Rules[0].Overrides; o.FallbackPool != us || o.RegionPools["WEU"][0] != eu {
		t.Errorf("overrides: %+v", o)
	}
	if ps := c.Validate([]string{"example.com"}); len(ps) != 0 {
		t.Fatalf("validate: %v", ps)
	}
}

func TestResolveProblems(t *testing.T) {
	c := testCatalog()
	c.Pools[0].Monitor = "nope"
	c.LoadBalancers[0].DefaultPools = []string{"eu", "ghost"}
	c.LoadBalancers[0].Rules[0].Overrides.FallbackPool = "ghost2"
	ps := c.Resolve()
	check(t, ps, &want{"pools[0].monitor", `unknown monitor "nope"`, false})
	check(t, ps, &want{"load_balancers[0].default_pools[1]", `unknown pool "ghost"`, false})
	check(t, ps, &want{"load_balancers[0].rules[0].overrides.fallback_pool", `unknown pool "ghost2"`, false})
	if c.LoadBalancers[0].FallbackPool != "" {
		t.Error("no fallback default from an unknown pool")
	}
	check(t, c.Validate(nil), &want{"load_balancers[0].default_pools[1]", `unknown pool "ghost"`, false})

	// A name shared by two pools (with explicit ids) is ambiguous.
	c = testCatalog()
	c.Pools = append(c.Pools, Pool{ID: "x1", Name: "eu", Origins: []Origin{{Name: "a", Address: "192.0.2.9"}}})
	check(t, c.Resolve(), &want{"load_balancers[0].default_pools[0]", "shared by several pools", false})
}

func TestCatalogValidate(t *testing.T) {
	c := testCatalog()
	c.Pools = append(c.Pools, c.Pools[0])
	c.Monitors = append(c.Monitors, Monitor{ID: c.Monitors[1].ID, Name: "other"})
	c.LoadBalancers = append(c.LoadBalancers, c.LoadBalancers[0])
	c.LoadBalancers[1].Name = "WWW.example.com"
	NormalizeMonitor(&c.Monitors[2])
	c.Resolve()
	ps := c.Validate([]string{"example.com"})
	check(t, ps, &want{"pools[2].name", `duplicate name "eu" (also pools[0])`, false})
	check(t, ps, &want{"monitors[2].id", `duplicate id "00000000000000000000000000000abc" (also monitors[1])`, false})
	check(t, ps, &want{"load_balancers[1].name", "duplicate load balancer name", false})
}

func TestServiceAndProximity(t *testing.T) {
	c := testCatalog()
	c.Pools = append(c.Pools, Pool{Name: "sip", Origins: []Origin{
		{Name: "s1", Address: "sip1.example.com", Port: 5060},
		{Name: "s2", Address: "sip2.example.com"},
	}})
	c.LoadBalancers = append(c.LoadBalancers,
		LoadBalancer{Name: "_sip._udp.example.com", DefaultPools: []string{"sip"}},
		LoadBalancer{Name: "near.example.com", DefaultPools: []string{"eu"}, SteeringPolicy: SteerProximity})
	c.Normalize()
	c.Resolve()
	ps := c.Validate([]string{"example.com"})
	check(t, ps, &want{"load_balancers[1].default_pools[0]", "origins[1] (s2) has no port", false})
	check(t, ps, &want{"load_balancers[2].default_pools[0]", "no latitude/longitude", true})
	if IsServiceName("www.example.com") || !IsServiceName("_sip._udp.example.com") {
		t.Error("IsServiceName")
	}
}
