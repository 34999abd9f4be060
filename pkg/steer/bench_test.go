package steer

import (
	"math/rand/v2"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

type benchCase struct {
	s *Set
	e *Env
	q *Query
}

func benchFailover(t testing.TB) benchCase {
	s := mustCompile(t, failoverCatalog())
	h := newHealth(s).set("p1", "*", Down)
	return benchCase{s, &Env{Geo: testGeo, Health: h, Rand: rand.NewPCG(1, 2)}, query("lb.example.com.", qA, "192.0.2.200")}
}

func benchGeoECS(t testing.TB) benchCase {
	l := mlb("geo.example.com", "geo", "def")
	l.CountryPools = map[string][]string{"DE": {"de", "def"}, "US": {"us"}}
	l.RegionPools = map[string][]string{"WEU": {"def"}}
	l.LocationStrategy.PreferECS = "always"
	s := mustCompile(t, catalog([]model.Pool{
		mpool("def", true, orig("192.0.2.10"), orig("192.0.2.11")),
		mpool("de", true, orig("192.0.2.20"), orig("192.0.2.21"), orig("192.0.2.22")),
		mpool("us", true, orig("192.0.2.30")),
	}, l))
	q := withECS(query("geo.example.com.", qA, "192.0.2.200"), "198.51.100.0/24")
	return benchCase{s, &Env{Geo: testGeo, Health: newHealth(s), Rand: rand.NewPCG(1, 2)}, q}
}

func benchRandomWeight(t testing.TB) benchCase {
	cat := randomCatalog("random")
	cat.Pools[1].Origins = []model.Origin{worig("192.0.2.40", 0.3), worig("192.0.2.41", 0.7), worig("192.0.2.42", 0.5)}
	s := mustCompile(t, cat)
	return benchCase{s, &Env{Geo: testGeo, Health: newHealth(s), Rand: rand.NewPCG(1, 2)}, query("rnd.example.com.", qA, "192.0.2.200")}
}

func benchHashAffinity(t testing.TB) benchCase {
	cat := catalog([]model.Pool{mpool("p", true, orig("192.0.2.1"), orig("192.0.2.2"), orig("192.0.2.3"))},
		mlb("lb.example.com", "proximity", "p"))
	cat.LoadBalancers[0].SessionAffinity = "ip_cookie"
	s := mustCompile(t, cat)
	q := withECS(query("lb.example.com.", qA, "192.0.2.200"), "203.0.113.0/24")
	return benchCase{s, &Env{Geo: testGeo, Health: newHealth(s), Rand: rand.NewPCG(1, 2)}, q}
}

func TestZeroAllocs(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) benchCase{
		"failover": benchFailover, "geo+ECS": benchGeoECS, "random by weight": benchRandomWeight,
		"ip_cookie+proximity": benchHashAffinity,
	} {
		c := mk(t)
		d := Decision{Origins: make([]int, 0, 8)}
		c.s.Decide(0, c.e, c.q, &d, nil)
		if d.Kind != Addrs {
			t.Fatalf("%s: %s", name, d.Kind)
		}
		if n := testing.AllocsPerRun(1000, func() { c.s.Decide(0, c.e, c.q, &d, nil) }); n != 0 {
			t.Errorf("%s: %.1f allocations per decision, want 0", name, n)
		}
	}
}

func runBench(b *testing.B, c benchCase) {
	d := Decision{Origins: make([]int, 0, 8)}
	b.ReportAllocs()
	for b.Loop() {
		c.s.Decide(0, c.e, c.q, &d, nil)
	}
}

func BenchmarkDecideFailover(b *testing.B)     { runBench(b, benchFailover(b)) }
func BenchmarkDecideGeoECS(b *testing.B)       { runBench(b, benchGeoECS(b)) }
func BenchmarkDecideRandomWeight(b *testing.B) { runBench(b, benchRandomWeight(b)) }
func BenchmarkDecideHashAffinity(b *testing.B) { runBench(b, benchHashAffinity(b)) }

func BenchmarkDecideTraced(b *testing.B) {
	c := benchGeoECS(b)
	d := Decision{Origins: make([]int, 0, 8)}
	b.ReportAllocs()
	for b.Loop() {
		var tr Trace
		c.s.Decide(0, c.e, c.q, &d, &tr)
	}
}
