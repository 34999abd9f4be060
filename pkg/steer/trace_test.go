package steer

import (
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/")

// describer adds evidence to origin health lines, as the prober's view does.
type describer struct{ *health }

func (d describer) DescribeOrigin(pool, origin int) string {
	if d.Origin(pool, origin) == Down {
		return "HTTP timeout occurred, since 42s"
	}
	return ""
}

// TestTraceGolden pins the explain output of a few decisions (go test -update rewrites it).
func TestTraceGolden(t *testing.T) {
	geoLB := mlb("www.example.com", "geo", "eu", "us")
	geoLB.CountryPools = map[string][]string{"DE": {"de", "eu"}}
	geoLB.RegionPools = map[string][]string{"WNAM": {"us"}}
	geoLB.LocationStrategy.PreferECS = "always"
	geoLB.Rules = []*model.Rule{
		{Name: "v6 to us", Condition: `dns.qry.type == 28`, Overrides: model.RuleOverrides{DefaultPools: []string{"us"}}},
		{Name: "short ttl for DE", Condition: `ip.src.country eq "DE"`, Priority: 0, Overrides: model.RuleOverrides{TTL: model.Ptr(10)}},
	}
	rnd := mlb("rnd.example.com", "random", "eu", "us", "de")
	rnd.RandomSteering = &model.RandomSteering{DefaultWeight: model.Ptr(1.0), PoolWeights: map[string]float64{"de": 0.5}}
	near := mlb("near.example.com", "proximity", "eu", "us", "de")
	near.SessionAffinity = "ip_cookie"
	pools := []model.Pool{
		mpool("eu", true, worig("192.0.2.1", 0.7), worig("192.0.2.2", 0.3)),
		mpool("us", true, orig("192.0.2.10"), orig("2001:db8::10"), orig("us.cdn.example.net")),
		mpool("de", true, orig("192.0.2.20"), orig("192.0.2.21")),
	}
	pools[0].Latitude, pools[0].Longitude = model.Ptr(48.86), model.Ptr(2.35)
	pools[1].Latitude, pools[1].Longitude = model.Ptr(38.9), model.Ptr(-77.0)
	pools[2].LoadShedding = &model.LoadShedding{DefaultPercent: 25, DefaultPolicy: "hash"}
	s := mustCompile(t, catalog(pools, geoLB, rnd, near))

	cases := []struct {
		file string
		lb   string
		q    *Query
		h    func(*health)
	}{
		{"geo_ecs_rules.txt", "www.example.com.", withECS(query("www.example.com.", qA, "192.0.2.200"), "198.51.100.0/24"),
			func(h *health) { h.set("de", "192.0.2.20", Down).set("de", "192.0.2.21", Unknown) }},
		{"geo_aaaa_rule.txt", "www.example.com.", withECS(query("www.example.com.", qAAAA, "192.0.2.200"), "203.0.113.0/24"), nil},
		{"random_shedding.txt", "rnd.example.com.", query("rnd.example.com.", qA, "192.0.2.200"),
			func(h *health) { h.set("eu", "*", Down) }},
		{"random_fallback.txt", "rnd.example.com.", query("rnd.example.com.", qA, "192.0.2.200"),
			func(h *health) { h.set("eu", "*", Down).set("us", "*", Down).set("de", "*", Down) }},
		{"proximity_ip_cookie.txt", "near.example.com.", withECS(query("near.example.com.", qA, "192.0.2.200"), "203.0.113.0/24"), nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			h := newHealth(s)
			if c.h != nil {
				c.h(h)
			}
			var d Decision
			var tr Trace
			s.Decide(s.LB(c.lb), &Env{Geo: testGeo, Health: describer{h}, Rand: env(nil, 3).Rand}, c.q, &d, &tr)
			got := tr.String() + "\n"
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("trace differs from %s:\n%s", path, got)
			}
		})
	}
}

// TestNoPanics runs every LB of a varied set against degenerate queries.
func TestNoPanics(t *testing.T) {
	cat := catalog([]model.Pool{
		mpool("a", true, orig("192.0.2.1"), worig("192.0.2.2", 0.5)),
		mpool("b", false, orig("x.example.net")),
		mpool("empty", true),
	},
		mlb("a.example.com", "off", "a", "b", "empty"),
		mlb("b.example.com", "random", "empty", "a"),
		mlb("c.example.com", "proximity", "a"),
		mlb("d.example.com", "dynamic_latency", "a", "b"),
		mlb("e.example.com", "geo"),
	)
	cat.Pools[0].OriginSteering.Policy = "hash"
	cat.Pools[2].MinimumOrigins = model.Ptr(0)
	cat.LoadBalancers[1].SessionAffinity = "ip_cookie"
	cat.LoadBalancers[1].Rules = []*model.Rule{{Condition: `ip.src.country eq "US"`}}
	s := mustCompile(t, cat)
	queries := []*Query{
		{}, {Type: qA}, {Type: qAAAA, HasECS: true}, {Type: qCNAME, Source: netipAddr("::ffff:192.0.2.1")},
		{Type: qA, HasECS: true, ECS: netipPrefixP("0.0.0.0/0")}, {Type: qMX}, {Type: 255},
	}
	envs := []*Env{nil, {}, env(newHealth(s), 1), {Health: newHealth(s)}}
	for lb := -1; lb <= len(s.LBs); lb++ {
		for _, q := range queries {
			for _, e := range envs {
				var d Decision
				s.Decide(lb, e, q, &d, nil)
				s.Decide(lb, e, q, &d, &Trace{})
			}
		}
	}
}

// FuzzDecide drives Decide with arbitrary queries, health and randomness: it must never panic,
// and an answer must only name eligible origins of the chosen pool.
func FuzzDecide(f *testing.F) {
	f.Add(uint8(0), uint16(1), []byte{192, 0, 2, 1}, []byte{198, 51, 100, 0}, uint8(24), uint64(0), uint64(1))
	f.Add(uint8(1), uint16(28), []byte{0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{}, uint8(0), uint64(0xff), uint64(2))
	geoLB := mlb("www.example.com", "geo", "eu", "us")
	geoLB.CountryPools = map[string][]string{"DE": {"de", "eu"}}
	geoLB.LocationStrategy.PreferECS = "always"
	geoLB.Rules = []*model.Rule{{Condition: `ip.src.country eq "US"`, Overrides: model.RuleOverrides{SessionAffinity: "ip_cookie"}}}
	pools := []model.Pool{
		mpool("eu", true, worig("192.0.2.1", 0.7), worig("192.0.2.2", 0.3), orig("eu.example.net")),
		mpool("us", true, orig("192.0.2.10"), orig("2001:db8::10")),
		mpool("de", false, orig("192.0.2.20"), orig("192.0.2.21")),
	}
	pools[2].LoadShedding = &model.LoadShedding{DefaultPercent: 50, DefaultPolicy: "hash"}
	s := mustCompile(f, catalog(pools, geoLB, mlb("r.example.com", "random", "eu", "us", "de"),
		mlb("p.example.com", "proximity", "eu", "us", "de"), mlb("d.example.com", "dynamic_latency", "de", "us")))
	f.Fuzz(func(t *testing.T, lb uint8, qtype uint16, src, ecs []byte, bits uint8, down, seed uint64) {
		q := &Query{Name: "x.example.com.", Type: qtype}
		q.Source, _ = netip.AddrFromSlice(src)
		if a, ok := netip.AddrFromSlice(ecs); ok {
			q.ECS, q.HasECS = netip.PrefixFrom(a, int(bits)), true
		}
		h := newHealth(s)
		k := 0
		for p := range h.state {
			for o := range h.state[p] {
				h.state[p][o] = State(down >> (2 * k) & 3 % 3)
				k++
			}
		}
		e := &Env{Geo: testGeo, Health: h, Rand: rand.NewPCG(seed, seed)}
		var d Decision
		s.Decide(int(lb%5), e, q, &d, nil)
		if d.Kind == None {
			return
		}
		if d.Pool < 0 || d.Pool >= len(s.Pools) || len(d.Origins) == 0 {
			t.Fatalf("answer %+v", d)
		}
		for _, i := range d.Origins {
			o := &s.Pools[d.Pool].Origins[i]
			if !o.Enabled || o.Weight <= 0 {
				t.Fatalf("ineligible origin %s", o.Name)
			}
		}
	})
}
