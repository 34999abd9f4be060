package steer

import (
	"slices"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

const (
	qA     = typeA
	qAAAA  = typeAAAA
	qCNAME = typeCNAME
	qMX    = typeMX
	qSRV   = typeSRV
)

// failoverCatalog: three monitored pools in order, one origin each (so answers are exact).
func failoverCatalog(mut ...func(*model.Catalog)) *model.Catalog {
	cat := catalog([]model.Pool{
		mpool("p1", true, orig("192.0.2.1")),
		mpool("p2", true, orig("192.0.2.2")),
		mpool("p3", true, orig("192.0.2.3")),
	}, mlb("lb.example.com", "off", "p1", "p2", "p3"))
	for _, m := range mut {
		m(cat)
	}
	return cat
}

type want_ struct {
	kind     Kind
	pool     string
	origins  []string
	fallback bool
}

func check(t *testing.T, s *Set, d *Decision, w want_) {
	t.Helper()
	pool, origins := answer(s, d)
	if d.Kind != w.kind || pool != w.pool || d.Fallback != w.fallback ||
		(w.origins != nil && !slices.Equal(origins, w.origins)) {
		t.Errorf("got %s pool %q %v fallback %v; want %s pool %q %v fallback %v",
			d.Kind, pool, origins, d.Fallback, w.kind, w.pool, w.origins, w.fallback)
	}
}

func TestFailover(t *testing.T) {
	cases := []struct {
		name   string
		mut    func(*model.Catalog)
		health func(*health)
		want   want_
	}{
		{"first healthy", nil, nil, want_{Addrs, "p1", []string{"192.0.2.1"}, false}},
		{"p1 down", nil, func(h *health) { h.set("p1", "*", Down) },
			want_{Addrs, "p2", []string{"192.0.2.2"}, false}},
		{"unknown counts as down (ruling 8)", nil, func(h *health) { h.set("p1", "*", Unknown) },
			want_{Addrs, "p2", nil, false}},
		{"automatic failback", nil, func(h *health) { h.set("p1", "*", Up) },
			want_{Addrs, "p1", nil, false}},
		{"all down: last default pool is the fallback, health ignored (ruling 6)", nil,
			func(h *health) { h.set("p1", "*", Down).set("p2", "*", Down).set("p3", "*", Down) },
			want_{Addrs, "p3", []string{"192.0.2.3"}, true}},
		{"explicit fallback_pool", func(c *model.Catalog) { c.LoadBalancers[0].FallbackPool = "p1" },
			func(h *health) { h.set("p1", "*", Down).set("p2", "*", Down).set("p3", "*", Down) },
			want_{Addrs, "p1", nil, true}},
		{"disabled pool skipped", func(c *model.Catalog) { c.Pools[0].Enabled = model.Ptr(false) }, nil,
			want_{Addrs, "p2", nil, false}},
		{"disabled fallback: NODATA (ruling 7)", func(c *model.Catalog) { c.Pools[2].Enabled = model.Ptr(false) },
			func(h *health) { h.set("p1", "*", Down).set("p2", "*", Down) },
			want_{None, "", nil, false}},
		{"unmonitored pool ignores health", func(c *model.Catalog) { c.Pools[0].Monitor = "" },
			func(h *health) { h.set("p1", "*", Down) },
			want_{Addrs, "p1", nil, false}},
		{"disabled origin: pool without eligible origin skipped", func(c *model.Catalog) { c.Pools[0].Origins[0].Enabled = model.Ptr(false) }, nil,
			want_{Addrs, "p2", nil, false}},
		{"weight 0 drains the origin", func(c *model.Catalog) { c.Pools[0].Origins[0].Weight = model.Ptr(0.0) }, nil,
			want_{Addrs, "p2", nil, false}},
		{"fallback ignores health but not weight 0 or disabled", func(c *model.Catalog) {
			c.Pools[2].Origins = append(c.Pools[2].Origins, worig("192.0.2.33", 0), orig("192.0.2.34"))
			c.Pools[2].Origins[2].Enabled = model.Ptr(false)
		}, func(h *health) { h.set("p1", "*", Down).set("p2", "*", Down).set("p3", "*", Down) },
			want_{Addrs, "p3", []string{"192.0.2.3"}, true}},
		{"no default pools and no fallback: NODATA", func(c *model.Catalog) { c.LoadBalancers[0].DefaultPools = nil }, nil,
			want_{None, "", nil, false}},
		{"disabled LB answers nothing", func(c *model.Catalog) { c.LoadBalancers[0].Enabled = model.Ptr(false) }, nil,
			want_{None, "", nil, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var muts []func(*model.Catalog)
			if c.mut != nil {
				muts = append(muts, c.mut)
			}
			s := mustCompile(t, failoverCatalog(muts...))
			h := newHealth(s)
			if c.health != nil {
				c.health(h)
			}
			var d Decision
			s.Decide(s.LB("lb.example.com."), env(h, 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
			check(t, s, &d, c.want)
			if d.Kind != None && d.TTL != 30 {
				t.Errorf("TTL %d, want 30 (ruling 20, also for fallback answers)", d.TTL)
			}
		})
	}
}

func TestMinimumOrigins(t *testing.T) {
	cat := catalog([]model.Pool{
		mpool("p1", true, orig("192.0.2.1"), orig("192.0.2.2"), orig("192.0.2.3")),
		mpool("p2", true, orig("192.0.2.9")),
	}, mlb("lb.example.com", "off", "p1", "p2"))
	cat.Pools[0].MinimumOrigins = model.Ptr(2)
	s := mustCompile(t, cat)
	h := newHealth(s).set("p1", "192.0.2.1", Down)
	var d Decision
	s.Decide(0, env(h, 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
	check(t, s, &d, want_{Addrs, "p1", nil, false})
	if len(d.Origins) != 2 {
		t.Errorf("answer %v: want the 2 healthy origins", d.Origins)
	}
	// Disabled origins do not count towards minimum_origins (ruling 23), even when up.
	h.set("p1", "192.0.2.2", Down)
	s.Decide(0, env(h, 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
	check(t, s, &d, want_{Addrs, "p2", nil, false})
}

func TestFamilies(t *testing.T) {
	cat := catalog([]model.Pool{
		mpool("v4", false, orig("192.0.2.1")),
		mpool("v6", false, orig("2001:db8::1")),
		mpool("mixed", false, orig("192.0.2.5"), orig("origin.example.net")),
		mpool("hosts", false, worig("a.example.net", 1), worig("b.example.net", 1)),
	},
		mlb("v4first.example.com", "off", "v4", "v6"),
		mlb("mixed.example.com", "off", "mixed"),
		mlb("hosts.example.com", "off", "hosts"),
		mlb("v4only.example.com", "off", "v4"),
	)
	s := mustCompile(t, cat)
	cases := []struct {
		lb    string
		qtype uint16
		want  want_
	}{
		{"v4first.example.com.", qA, want_{Addrs, "v4", []string{"192.0.2.1"}, false}},
		{"v4first.example.com.", qAAAA, want_{Addrs, "v6", []string{"2001:db8::1"}, false}}, // ruling 3
		{"v4first.example.com.", qCNAME, want_{None, "v4", nil, false}},                     // ruling 4
		{"mixed.example.com.", qA, want_{Addrs, "mixed", []string{"192.0.2.5"}, false}},     // ruling 1
		{"mixed.example.com.", qAAAA, want_{CNAME, "mixed", []string{"origin.example.net"}, false}},
		{"mixed.example.com.", qCNAME, want_{None, "mixed", nil, false}},
		{"hosts.example.com.", qCNAME, want_{CNAME, "hosts", nil, false}},
		{"hosts.example.com.", qA, want_{CNAME, "hosts", nil, false}},
		{"v4only.example.com.", qAAAA, want_{None, "", nil, false}}, // fallback cannot serve AAAA
		{"v4only.example.com.", qMX, want_{None, "", nil, false}},   // not owned
	}
	for _, c := range cases {
		var d Decision
		s.Decide(s.LB(c.lb), env(nil, 1), query(c.lb, c.qtype, "192.0.2.200"), &d, nil)
		t.Run(c.lb+typeName(c.qtype), func(t *testing.T) { check(t, s, &d, c.want) })
		if d.Kind == CNAME && len(d.Origins) != 1 {
			t.Errorf("%s %s: CNAME answer with %d origins, want exactly one", c.lb, typeName(c.qtype), len(d.Origins))
		}
	}
	// A hostname LB without mail marks answers A/AAAA/CNAME with a CNAME (ruling 1) and MX with
	// its hostnames as exchangers (ruling 5); transfers take only the CNAME from it.
	hosts := &s.LBs[s.LB("hosts.example.com.")]
	if !hosts.Owns(qCNAME) || !hosts.Owns(qMX) || !hosts.HostMX || hosts.OwnsService(qMX) || !hosts.OwnsService(qCNAME) {
		t.Errorf("hostname LB: owns CNAME %v, MX %v, HostMX %v; by service MX %v", hosts.Owns(qCNAME), hosts.Owns(qMX), hosts.HostMX, hosts.OwnsService(qMX))
	}
	var d Decision
	s.Decide(s.LB("hosts.example.com."), env(nil, 1), query("hosts.example.com.", qMX, "192.0.2.200"), &d, nil)
	if d.Kind != MX || len(d.Origins) == 0 {
		t.Errorf("hostname LB, MX query: kind %v origins %v, want MX records", d.Kind, d.Origins)
	}
	if s.LBs[s.LB("mixed.example.com.")].HostMX {
		t.Error("an LB with IP origins is not HostMX")
	}
}

func TestEqualWeightsRotate(t *testing.T) {
	cat := catalog([]model.Pool{mpool("p", false, orig("192.0.2.1"), orig("192.0.2.2"), orig("192.0.2.3"))},
		mlb("lb.example.com", "off", "p"))
	s := mustCompile(t, cat)
	e := env(nil, 7)
	first := map[string]int{}
	var d Decision
	for range 3000 {
		s.Decide(0, e, query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
		_, o := answer(s, &d)
		if len(o) != 3 {
			t.Fatalf("equal weights: %v, want all three", o)
		}
		// a rotation of the pool order
		i := slices.Index(o, "192.0.2.1")
		if o[(i+1)%3] != "192.0.2.2" || o[(i+2)%3] != "192.0.2.3" {
			t.Fatalf("%v is not a rotation", o)
		}
		first[o[0]]++
	}
	for k, n := range first {
		if n < 800 {
			t.Errorf("%s first %d of 3000 times: rotation not uniform", k, n)
		}
	}
}

func TestGeo(t *testing.T) {
	mk := func(mut func(*model.LoadBalancer)) *Set {
		l := mlb("geo.example.com", "geo", "def")
		l.CountryPools = map[string][]string{"DE": {"de"}, "us": {"us"}}
		l.RegionPools = map[string][]string{"WNAM": {"wnam"}, "ENAM": {"enam"}, "WEU": {"weu"}}
		l.FallbackPool = "fb"
		if mut != nil {
			mut(&l)
		}
		return mustCompile(t, catalog([]model.Pool{
			mpool("def", true, orig("192.0.2.10")),
			mpool("de", true, orig("192.0.2.11")),
			mpool("us", true, orig("192.0.2.12")),
			mpool("wnam", true, orig("192.0.2.13")),
			mpool("enam", true, orig("192.0.2.14")),
			mpool("weu", true, orig("192.0.2.15")),
			mpool("pop", true, orig("192.0.2.16")),
			mpool("fb", true, orig("192.0.2.17")),
		}, l))
	}
	always := func(l *model.LoadBalancer) { l.LocationStrategy.PreferECS = "always" }
	cases := []struct {
		name   string
		mut    func(*model.LoadBalancer)
		ecs    string
		src    string
		down   []string
		pool   string
		fb     bool
		scope  int
		region string
	}{
		{"no ECS preference, mode pop: the PoP's country GB has no key, region WEU", nil, "198.51.100.0/24", "192.0.2.200", nil, "weu", false, 0, ""},
		{"prefer_ecs always: ECS country DE", always, "198.51.100.0/24", "192.0.2.200", nil, "de", false, 22, ""},
		{"prefer_ecs geo with policy geo", func(l *model.LoadBalancer) { l.LocationStrategy.PreferECS = "geo" }, "198.51.100.0/24", "192.0.2.200", nil, "de", false, 22, ""},
		{"prefer_ecs never", func(l *model.LoadBalancer) { l.LocationStrategy.PreferECS = "never" }, "198.51.100.0/24", "192.0.2.200", nil, "weu", false, 0, ""},
		{"country key lower-case in config", always, "203.0.113.0/24", "192.0.2.200", nil, "us", false, 24, ""},
		{"first defined key wins, then the fallback (ruling 9)", always, "198.51.100.0/24", "192.0.2.200", []string{"de"}, "fb", true, 22, ""},
		{"region by subdivision (US-CA → WNAM)", func(l *model.LoadBalancer) {
			always(l)
			delete(l.CountryPools, "us")
		}, "203.0.113.0/24", "192.0.2.200", nil, "wnam", false, 24, ""},
		{"region by subdivision (US-NY → ENAM)", func(l *model.LoadBalancer) {
			always(l)
			delete(l.CountryPools, "us")
		}, "192.0.2.0/24", "192.0.2.200", nil, "enam", false, 25, ""},
		{"area without key: default_pools", always, "2001:db8:1::/48", "192.0.2.200", nil, "def", false, 48, ""},
		{"ECS lookup fails: PoP, scope = source prefix", always, "10.1.2.0/24", "192.0.2.200", nil, "weu", false, 24, ""},
		{"mode resolver_ip: resolver GeoIP", func(l *model.LoadBalancer) { l.LocationStrategy.Mode = "resolver_ip" }, "", "198.51.100.7", nil, "de", false, 0, ""},
		{"mode resolver_ip, lookup fails: the PoP", func(l *model.LoadBalancer) { l.LocationStrategy.Mode = "resolver_ip" }, "", "10.0.0.1", nil, "weu", false, 0, ""},
		{"mode resolver_ip with ECS not preferred: resolver, scope 0", func(l *model.LoadBalancer) { l.LocationStrategy.Mode = "resolver_ip" }, "203.0.113.0/24", "198.51.100.7", nil, "de", false, 0, ""},
		{"pop_pools for this PoP beats everything, scope 0", func(l *model.LoadBalancer) {
			always(l)
			l.PopPools = map[string][]string{"LHR": {"pop"}, "SJC": {"us"}}
		}, "198.51.100.0/24", "192.0.2.200", nil, "pop", false, 0, ""},
		{"pop_pools of another PoP: next key", func(l *model.LoadBalancer) {
			always(l)
			l.PopPools = map[string][]string{"SJC": {"us"}}
		}, "198.51.100.0/24", "192.0.2.200", nil, "de", false, 22, ""},
		{"empty policy with geo maps is geo", func(l *model.LoadBalancer) { always(l); l.SteeringPolicy = "" }, "198.51.100.0/24", "192.0.2.200", nil, "de", false, 22, ""},
		{"empty policy without geo maps is off", func(l *model.LoadBalancer) {
			always(l)
			l.SteeringPolicy, l.CountryPools, l.RegionPools = "", nil, nil
		}, "198.51.100.0/24", "192.0.2.200", nil, "def", false, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mk(c.mut)
			h := newHealth(s)
			for _, p := range c.down {
				h.set(p, "*", Down)
			}
			q := query("geo.example.com.", qA, c.src)
			if c.ecs != "" {
				withECS(q, c.ecs)
			}
			var d Decision
			var tr Trace
			s.Decide(0, env(h, 1), q, &d, &tr)
			pool, _ := answer(s, &d)
			if pool != c.pool || d.Fallback != c.fb || d.Scope != c.scope {
				t.Errorf("pool %s fallback %v scope %d; want %s %v %d\n%s", pool, d.Fallback, d.Scope, c.pool, c.fb, c.scope, tr.String())
			}
		})
	}
}

func TestProximity(t *testing.T) {
	pools := []model.Pool{
		mpool("tokyo", true, orig("192.0.2.1")),
		mpool("nocoords", true, orig("192.0.2.2")),
		mpool("frankfurt", true, orig("192.0.2.3")),
		mpool("virginia", true, orig("192.0.2.4")),
	}
	for i, ll := range [][2]float64{{35.7, 139.7}, {}, {50.1, 8.7}, {38.9, -77.0}} {
		if i != 1 {
			pools[i].Latitude, pools[i].Longitude = model.Ptr(ll[0]), model.Ptr(ll[1])
		}
	}
	s := mustCompile(t, catalog(pools, mlb("near.example.com", "proximity", "tokyo", "nocoords", "frankfurt", "virginia")))
	cases := []struct {
		ecs   string
		down  []string
		pool  string
		scope int
	}{
		{"198.51.100.0/24", nil, "frankfurt", 22}, // Berlin; prefer_ecs proximity uses ECS
		{"203.0.113.0/24", nil, "virginia", 24},   // San Francisco
		{"2001:db8:1::/56", nil, "tokyo", 48},
		{"198.51.100.0/24", []string{"frankfurt"}, "virginia", 22},
		{"198.51.100.0/24", []string{"frankfurt", "virginia", "tokyo"}, "nocoords", 22}, // no coordinates: last
		{"100.64.1.0/24", nil, "tokyo", 16},                                             // GeoIP record without coordinates: list order
		{"", nil, "frankfurt", 0},                                                       // no ECS: the PoP (London)
	}
	for _, c := range cases {
		h := newHealth(s)
		for _, p := range c.down {
			h.set(p, "*", Down)
		}
		q := query("near.example.com.", qA, "192.0.2.200")
		if c.ecs != "" {
			withECS(q, c.ecs)
		}
		var d Decision
		var tr Trace
		s.Decide(0, env(h, 1), q, &d, &tr)
		if pool, _ := answer(s, &d); pool != c.pool || d.Scope != c.scope {
			t.Errorf("ecs %s down %v: pool %s scope %d, want %s %d\n%s", c.ecs, c.down, pool, d.Scope, c.pool, c.scope, tr.String())
		}
	}
}

func TestDynamicLatency(t *testing.T) {
	s := mustCompile(t, catalog([]model.Pool{
		mpool("a", true, orig("192.0.2.1")),
		mpool("b", true, orig("192.0.2.2")),
		mpool("c", true, orig("192.0.2.3")),
		mpool("d", true, orig("192.0.2.4")),
	}, mlb("dyn.example.com", "dynamic_latency", "a", "b", "c", "d")))
	h := newHealth(s)
	var d Decision
	run := func() string {
		s.Decide(0, env(h, 1), query("dyn.example.com.", qA, "192.0.2.200"), &d, nil)
		p, _ := answer(s, &d)
		return p
	}
	if p := run(); p != "a" {
		t.Errorf("no RTT anywhere: %s, want a (default_pools order)", p)
	}
	h.rtt[s.Pool("c")] = 20
	h.rtt[s.Pool("d")] = 10
	if p := run(); p != "d" {
		t.Errorf("lowest RTT: %s, want d", p)
	}
	h.set("d", "*", Down).set("c", "*", Down)
	if p := run(); p != "a" {
		t.Errorf("pools with RTT down: %s, want a (pools without RTT after, in order)", p)
	}
}

func TestOneOriginByPolicy(t *testing.T) {
	cat := catalog([]model.Pool{mpool("p", false, worig("192.0.2.1", 0.5), worig("192.0.2.2", 1))},
		mlb("lb.example.com", "off", "p"))
	s := mustCompile(t, cat)
	var d Decision
	s.Decide(0, env(nil, 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
	if len(d.Origins) != 1 {
		t.Fatalf("different weights: %d origins, want exactly one (ruling 2)", len(d.Origins))
	}
	// ip_cookie: one origin even with equal weights (ruling 17), stable per client.
	cat = catalog([]model.Pool{mpool("p", false, orig("192.0.2.1"), orig("192.0.2.2"), orig("192.0.2.3"))},
		mlb("lb.example.com", "off", "p"))
	cat.LoadBalancers[0].SessionAffinity = "ip_cookie"
	s = mustCompile(t, cat)
	got := map[string]bool{}
	for i := range 50 {
		q := withECS(query("lb.example.com.", qA, "192.0.2.200"), "203.0.113.0/24")
		s.Decide(0, env(nil, uint64(i)), q, &d, nil)
		_, o := answer(s, &d)
		if len(o) != 1 || d.Scope != 24 {
			t.Fatalf("ip_cookie: %v scope %d, want one origin, scope 24", o, d.Scope)
		}
		got[o[0]] = true
	}
	if len(got) != 1 {
		t.Errorf("ip_cookie: one client got %v", got)
	}
}

func TestShedding(t *testing.T) {
	cat := catalog([]model.Pool{mpool("a", true, orig("192.0.2.1")), mpool("b", true, orig("192.0.2.2"))},
		mlb("lb.example.com", "off", "a", "b"))
	cat.Pools[0].LoadShedding = &model.LoadShedding{DefaultPercent: 100, DefaultPolicy: "random"}
	s := mustCompile(t, cat)
	var d Decision
	s.Decide(0, env(newHealth(s), 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
	check(t, s, &d, want_{Addrs, "b", nil, false})

	// Every pool sheds: the fallback answers (F1 › Load shedding).
	cat.Pools[1].LoadShedding = &model.LoadShedding{DefaultPercent: 100}
	s = mustCompile(t, cat)
	s.Decide(0, env(newHealth(s), 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
	check(t, s, &d, want_{Addrs, "b", nil, true})

	// hash: stable per client key, about the share over many clients, scope = ECS prefix.
	cat.Pools[0].LoadShedding = &model.LoadShedding{DefaultPercent: 30, DefaultPolicy: "hash"}
	cat.Pools[1].LoadShedding = nil
	s = mustCompile(t, cat)
	shed := 0
	for i := range 10000 {
		q := withECS(query("lb.example.com.", qA, "192.0.2.200"), netipPrefix(i))
		first := ""
		for k := range 3 {
			s.Decide(0, env(newHealth(s), uint64(k)), q, &d, nil)
			p, _ := answer(s, &d)
			if k == 0 {
				first = p
			} else if p != first {
				t.Fatalf("hash shedding not stable for %v", q.ECS)
			}
		}
		if d.Scope != 24 {
			t.Fatalf("hash shedding scope %d, want 24", d.Scope)
		}
		if first == "b" {
			shed++
		}
	}
	if x := chi2([]int{shed, 10000 - shed}, []float64{0.3, 0.7}); x > chi2Critical(1, 0.001) {
		t.Errorf("hash shedding: %d of 10000 shed, want ≈ 30%% (chi² %.2f)", shed, x)
	}
}

func TestTTLAndKinds(t *testing.T) {
	cat := catalog([]model.Pool{
		mpool("mail", true, model.Origin{Name: "mx1", Address: "mx1.example.com", Enabled: model.Ptr(true), Weight: model.Ptr(1.0)},
			model.Origin{Name: "mx2", Address: "MX2.example.com.", Enabled: model.Ptr(true), Weight: model.Ptr(1.0)}),
		mpool("sip", false,
			model.Origin{Name: "s1", Address: "sip1.example.com", Port: 5060, Enabled: model.Ptr(true), Weight: model.Ptr(0.6)},
			model.Origin{Name: "s2", Address: "sip2.example.com", Port: 5060, Enabled: model.Ptr(true), Weight: model.Ptr(0.4)},
			model.Origin{Name: "noport", Address: "sip3.example.com", Enabled: model.Ptr(true), Weight: model.Ptr(1.0)}),
	},
		mlb("example.com", "off", "mail"),
		mlb("_sip._tcp.example.com", "off", "sip"),
	)
	cat.Pools[0].Monitor = "smtp"
	cat.LoadBalancers[0].TTL = model.Ptr(300)
	s := mustCompile(t, cat)
	mx, srv := &s.LBs[s.LB("example.com.")], &s.LBs[s.LB("_sip._tcp.example.com.")]
	if mx.Service != ServeMX || !mx.Owns(qMX) || mx.Owns(qA) {
		t.Errorf("mail LB: service %s", mx.Service)
	}
	if srv.Service != ServeSRV || !srv.Owns(qSRV) || srv.Owns(qA) {
		t.Errorf("service LB: service %s", srv.Service)
	}
	var d Decision
	s.Decide(s.LB("example.com."), env(newHealth(s), 1), query("example.com.", qMX, "192.0.2.200"), &d, nil)
	if _, o := answer(s, &d); d.Kind != MX || len(o) != 2 || d.TTL != 300 {
		t.Errorf("MX: %s %v TTL %d", d.Kind, o, d.TTL)
	}
	if h := s.Pools[d.Pool].Origins[1].Host; h != "mx2.example.com." {
		t.Errorf("host %q, want lowercase FQDN", h)
	}
	s.Decide(s.LB("example.com."), env(newHealth(s), 1), query("example.com.", qA, "192.0.2.200"), &d, nil)
	if d.Kind != None {
		t.Errorf("A at a mail LB: %s, want nothing (zone data)", d.Kind)
	}
	s.Decide(s.LB("_sip._tcp.example.com."), env(nil, 1), query("_sip._tcp.example.com.", qSRV, "192.0.2.200"), &d, nil)
	if _, o := answer(s, &d); d.Kind != SRV || len(o) != 2 {
		t.Errorf("SRV: %s %v, want both targets with a port", d.Kind, o)
	}
	if w := s.Pools[d.Pool].Origins[0].SRVWeight(); w != 60 {
		t.Errorf("SRV weight %d, want 60", w)
	}
	// hostname origins on port 25 without an smtp monitor also make a mail LB
	cat.Pools[0].Monitor = ""
	cat.Pools[0].Origins[0].Port, cat.Pools[0].Origins[1].Port = 25, 25
	if s := mustCompile(t, cat); s.LBs[0].Service != ServeMX {
		t.Error("port 25 hostnames: not a mail LB")
	}
}

func TestBadInput(t *testing.T) {
	s := mustCompile(t, failoverCatalog())
	var d Decision
	for _, lb := range []int{-1, 5} {
		s.Decide(lb, env(nil, 1), query("x.", qA, "192.0.2.1"), &d, nil)
		if d.Kind != None || d.Pool != -1 {
			t.Errorf("lb %d: %+v", lb, d)
		}
	}
	s.Decide(0, nil, query("lb.example.com.", qA, "192.0.2.1"), &d, nil) // nil Env: everything Unknown
	check(t, s, &d, want_{Addrs, "p3", nil, true})
	var nilSet *Set
	nilSet.Decide(0, nil, &Query{}, &d, nil)
	s.Decide(0, &Env{}, &Query{Type: qA}, &d, &Trace{})
	if s.LB("LB.Example.COM") != 0 || s.LB("nope.") != -1 {
		t.Error("LB lookup")
	}
	_, err := Compile(catalog([]model.Pool{mpool("p", false, orig("not an address"))},
		mlb("x.example.com", "bogus", "p", "missing")), Options{})
	if err == nil || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), "bogus") ||
		!strings.Contains(err.Error(), "origins[0].address") {
		t.Errorf("Compile errors: %v", err)
	}
}

func TestTraceReadable(t *testing.T) {
	s := mustCompile(t, failoverCatalog())
	h := newHealth(s).set("p1", "*", Down)
	var d Decision
	var tr Trace
	s.Decide(0, env(h, 1), withECS(query("lb.example.com.", qA, "192.0.2.200"), "203.0.113.0/24"), &d, &tr)
	out := tr.String()
	for _, want := range []string{"policy off", "pool p1: unhealthy: 0 of 1 origins up", "origin 192.0.2.1 192.0.2.1: down",
		"pool chosen: p2", "answer: addresses from pool p2: 192.0.2.2", "ECS scope: /0", "TTL: 30"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	var b strings.Builder
	if _, err := tr.WriteTo(&b); err != nil || b.Len() == 0 {
		t.Error("WriteTo")
	}
}

func netipPrefix(i int) string {
	return sprintf("10.%d.%d.0/24", (i>>8)&255, i&255)
}

func TestDefaultAnswer(t *testing.T) {
	cat := failoverCatalog(func(c *model.Catalog) {
		c.Pools[1].Origins = []model.Origin{worig("192.0.2.21", 0.2), worig("192.0.2.22", 0.9), orig("2001:db8::2")}
		c.Pools[1].LoadShedding = &model.LoadShedding{DefaultPercent: 100}
		c.LoadBalancers[0].SessionAffinity = "ip_cookie"
		c.LoadBalancers[0].TTL = model.Ptr(60)
	})
	s := mustCompile(t, cat)
	h := newHealth(s).set("p1", "*", Down)
	var d Decision
	s.Default(0, h, qA, &d)
	if p, o := answer(s, &d); p != "p2" || !slices.Equal(o, []string{"192.0.2.21", "192.0.2.22"}) || d.TTL != 60 || d.Kind != Addrs {
		t.Errorf("default answer: %s %v TTL %d", p, o, d.TTL)
	}
	h.set("p2", "*", Down).set("p3", "*", Down)
	s.Default(0, h, qAAAA, &d)
	if p, o := answer(s, &d); p != "" || o != nil || d.Kind != None {
		t.Errorf("AAAA with the fallback p3 v4-only: %s %v", p, o)
	}
	s.Default(0, h, qA, &d)
	if p, _ := answer(s, &d); p != "p3" || !d.Fallback {
		t.Errorf("all down: %s fallback %v", p, d.Fallback)
	}
	s.Default(9, h, qA, &d)
	if d.Kind != None {
		t.Error("bad index")
	}
}
