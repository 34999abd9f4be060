package steer

import (
	"math/rand/v2"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

const draws = 10000

func randomCatalog(policy string) *model.Catalog {
	cat := catalog([]model.Pool{
		mpool("a", true, orig("192.0.2.1")),
		mpool("b", true, orig("192.0.2.2")),
		mpool("c", true, orig("192.0.2.3")),
		mpool("d", true, orig("192.0.2.4")),
		mpool("zero", true, orig("192.0.2.5")),
	}, mlb("rnd.example.com", policy, "a", "b", "c", "d", "zero"))
	cat.LoadBalancers[0].RandomSteering = &model.RandomSteering{
		DefaultWeight: model.Ptr(0.4), // d
		PoolWeights:   map[string]float64{"a": 0.1, "b": 0.2, "c": 0.3, "zero": 0},
	}
	return cat
}

// poolShares decides draws times with one seeded PCG and counts the chosen pools.
func poolShares(t *testing.T, s *Set, h Health, names ...string) []int {
	t.Helper()
	e := &Env{Geo: testGeo, Health: h, Rand: rand.NewPCG(42, 1)}
	counts := make([]int, len(names))
	var d Decision
	q := query("rnd.example.com.", qA, "192.0.2.200")
	for range draws {
		s.Decide(0, e, q, &d, nil)
		p, _ := answer(s, &d)
		found := false
		for i, n := range names {
			if n == p {
				counts[i]++
				found = true
			}
		}
		if !found {
			t.Fatalf("unexpected pool %q", p)
		}
	}
	return counts
}

func TestRandomPoolWeights(t *testing.T) {
	for _, policy := range []string{"random", "least_outstanding_requests", "least_connections"} {
		t.Run(policy, func(t *testing.T) {
			s := mustCompile(t, randomCatalog(policy))
			h := newHealth(s)
			counts := poolShares(t, s, h, "a", "b", "c", "d")
			if x, crit := chi2(counts, []float64{0.1, 0.2, 0.3, 0.4}), chi2Critical(3, 0.001); x > crit {
				t.Errorf("shares %v: chi² %.2f > %.2f", counts, x, crit)
			}
			// Unhealthy pools are left out before normalising (ruling 24).
			h.set("c", "*", Down)
			counts = poolShares(t, s, h, "a", "b", "d")
			if x, crit := chi2(counts, []float64{0.1, 0.2, 0.4}), chi2Critical(2, 0.001); x > crit {
				t.Errorf("shares without c %v: chi² %.2f > %.2f", counts, x, crit)
			}
		})
	}
}

func TestRandomWithShedding(t *testing.T) {
	cat := randomCatalog("random")
	// a sheds 50% of its queries; shed queries are redrawn among the others.
	cat.Pools[0].LoadShedding = &model.LoadShedding{DefaultPercent: 50, DefaultPolicy: "random"}
	s := mustCompile(t, cat)
	counts := poolShares(t, s, newHealth(s), "a", "b", "c", "d")
	// P(a) = 0.1·0.5; the shed 0.05 is redrawn over b,c,d in proportion 2:3:4.
	shares := []float64{0.05, 0.2 + 0.05*2/9, 0.3 + 0.05*3/9, 0.4 + 0.05*4/9}
	if x, crit := chi2(counts, shares), chi2Critical(3, 0.001); x > crit {
		t.Errorf("shares %v: chi² %.2f > %.2f", counts, x, crit)
	}
	// All usable pools with weight 0 or down: the fallback.
	h := newHealth(s).set("a", "*", Down).set("b", "*", Down).set("c", "*", Down).set("d", "*", Down)
	var d Decision
	s.Decide(0, env(h, 1), query("rnd.example.com.", qA, "192.0.2.200"), &d, nil)
	check(t, s, &d, want_{Addrs, "zero", nil, true})
}

func TestSheddingRandomShare(t *testing.T) {
	cat := catalog([]model.Pool{mpool("a", true, orig("192.0.2.1")), mpool("b", true, orig("192.0.2.2"))},
		mlb("rnd.example.com", "off", "a", "b"))
	cat.Pools[0].LoadShedding = &model.LoadShedding{DefaultPercent: 20, DefaultPolicy: "random"}
	s := mustCompile(t, cat)
	counts := poolShares(t, s, newHealth(s), "a", "b")
	if x, crit := chi2(counts, []float64{0.8, 0.2}), chi2Critical(1, 0.001); x > crit {
		t.Errorf("shares %v: chi² %.2f > %.2f", counts, x, crit)
	}
}

func TestOriginWeights(t *testing.T) {
	for _, policy := range []string{"random", "least_outstanding_requests", "least_connections", "hash"} {
		t.Run(policy, func(t *testing.T) {
			cat := catalog([]model.Pool{mpool("p", true, worig("192.0.2.1", 0.2), worig("192.0.2.2", 0.3),
				worig("192.0.2.3", 0.5), worig("192.0.2.4", 0))}, mlb("lb.example.com", "off", "p"))
			cat.Pools[0].OriginSteering.Policy = policy
			s := mustCompile(t, cat)
			e := &Env{Health: newHealth(s), Rand: rand.NewPCG(7, 7)}
			counts := make([]int, 4)
			var d Decision
			for i := range draws {
				// hash: a different client per decision; random: the same client.
				q := withECS(query("lb.example.com.", qA, "192.0.2.200"), netipPrefix(i))
				s.Decide(0, e, q, &d, nil)
				if len(d.Origins) != 1 {
					t.Fatalf("%d origins, want one", len(d.Origins))
				}
				counts[d.Origins[0]]++
				wantScope := 0
				if policy == "hash" {
					wantScope = 24
				}
				if d.Scope != wantScope {
					t.Fatalf("scope %d, want %d", d.Scope, wantScope)
				}
			}
			if counts[3] != 0 {
				t.Errorf("weight 0 origin chosen %d times", counts[3])
			}
			if x, crit := chi2(counts[:3], []float64{0.2, 0.3, 0.5}), chi2Critical(2, 0.001); x > crit {
				t.Errorf("shares %v: chi² %.2f > %.2f", counts, x, crit)
			}
		})
	}
}

func TestHashStability(t *testing.T) {
	origins := []model.Origin{worig("192.0.2.1", 0.5), worig("192.0.2.2", 1), worig("192.0.2.3", 1), worig("192.0.2.4", 0.8)}
	mk := func(os []model.Origin) *Set {
		cat := catalog([]model.Pool{mpool("p", false, os...)}, mlb("lb.example.com", "off", "p"))
		cat.Pools[0].OriginSteering.Policy = "hash"
		return mustCompile(t, cat)
	}
	full := mk(origins)
	without := mk([]model.Origin{origins[0], origins[1], origins[3]}) // 192.0.2.3 removed
	pick := func(s *Set, q *Query, seed uint64) string {
		var d Decision
		s.Decide(0, env(nil, seed), q, &d, nil)
		_, o := answer(s, &d)
		return o[0]
	}
	moved := 0
	for i := range 2000 {
		var q *Query
		if i%2 == 0 {
			q = withECS(query("lb.example.com.", qA, "192.0.2.200"), netipPrefix(i))
		} else { // no ECS: the resolver /24 is the key
			q = query("lb.example.com.", qA, sprintf("10.%d.%d.%d", i>>8&255, i&255, i%200))
		}
		a := pick(full, q, 1)
		if b := pick(full, q, 99); a != b {
			t.Fatalf("client %v: %s then %s", q, a, b)
		}
		b := pick(without, q, 1)
		if a != "192.0.2.3" && a != b {
			t.Fatalf("client %v moved from %s to %s although only 192.0.2.3 was removed", q, a, b)
		}
		if a == "192.0.2.3" {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no client was on the removed origin: test proves nothing")
	}
	// The resolver key is its /24: neighbours share the origin.
	q1, q2 := query("lb.example.com.", qA, "10.9.9.1"), query("lb.example.com.", qA, "10.9.9.254")
	if pick(full, q1, 1) != pick(full, q2, 2) {
		t.Error("two resolvers of one /24 got different origins")
	}
}
