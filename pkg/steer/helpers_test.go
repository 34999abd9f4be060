package steer

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

// Fixtures: model objects with the defaults Normalize would fill, referenced by name (= id).

func orig(addr string) model.Origin { return worig(addr, 1) }

func worig(addr string, w float64) model.Origin {
	return model.Origin{Name: addr, Address: addr, Enabled: model.Ptr(true), Weight: model.Ptr(w)}
}

func mpool(name string, monitored bool, origins ...model.Origin) model.Pool {
	p := model.Pool{ID: name, Name: name, Enabled: model.Ptr(true), MinimumOrigins: model.Ptr(1),
		Origins: origins, OriginSteering: &model.OriginSteering{Policy: model.OriginRandom}}
	if monitored {
		p.Monitor = "mon"
	}
	return p
}

func mlb(name, policy string, pools ...string) model.LoadBalancer {
	return model.LoadBalancer{ID: name, Name: name, Enabled: model.Ptr(true), TTL: model.Ptr(30),
		DefaultPools: pools, SteeringPolicy: policy, SessionAffinity: "none",
		LocationStrategy: &model.LocationStrategy{PreferECS: "proximity", Mode: "pop"}}
}

func catalog(pools []model.Pool, lbs ...model.LoadBalancer) *model.Catalog {
	return &model.Catalog{
		Monitors:      []model.Monitor{{ID: "mon", Name: "mon", Type: "http"}, {ID: "smtp", Name: "smtp", Type: "smtp"}},
		Pools:         pools,
		LoadBalancers: lbs,
	}
}

var testPoP = model.PoP{Code: "LHR", Region: "WEU", Country: "GB", Latitude: model.Ptr(51.47), Longitude: model.Ptr(-0.45)}

func mustCompile(t testing.TB, cat *model.Catalog) *Set {
	t.Helper()
	s, err := Compile(cat, Options{PoP: testPoP, Regions: testRegions})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func testRegions(country, sub string) string {
	switch country {
	case "US":
		if sub == "CA" || sub == "WA" {
			return "WNAM"
		}
		return "ENAM"
	case "DE", "FR", "GB":
		return "WEU"
	case "JP":
		return "NEAS"
	}
	return ""
}

// health is a fake Health: states by pool and origin name, everything else Up.
type health struct {
	s     *Set
	state [][]State
	rtt   map[int]float64
}

func newHealth(s *Set) *health {
	h := &health{s: s, rtt: map[int]float64{}}
	for _, p := range s.Pools {
		st := make([]State, len(p.Origins))
		for i := range st {
			st[i] = Up
		}
		h.state = append(h.state, st)
	}
	return h
}

func (h *health) set(pool, origin string, st State) *health {
	p := h.s.Pool(pool)
	for i, o := range h.s.Pools[p].Origins {
		if o.Name == origin || origin == "*" {
			h.state[p][i] = st
		}
	}
	return h
}

func (h *health) Origin(p, o int) State {
	if p < len(h.state) && o < len(h.state[p]) {
		return h.state[p][o]
	}
	return Unknown
}

func (h *health) PoolRTT(p int) (float64, bool) {
	v, ok := h.rtt[p]
	return v, ok
}

// geodb is a fake Locator: the longest matching prefix wins.
type geodb []Location

func (g geodb) Lookup(ip netip.Addr) (Location, bool) {
	best := -1
	for i := range g {
		if g[i].Prefix.Contains(ip) && (best < 0 || g[i].Prefix.Bits() > g[best].Prefix.Bits()) {
			best = i
		}
	}
	if best < 0 {
		return Location{}, false
	}
	return g[best], true
}

var testGeo = geodb{
	{Country: "DE", Continent: "EU", Lat: 52.52, Lon: 13.40, HasCoords: true, Prefix: netip.MustParsePrefix("198.51.100.0/22")},
	{Country: "US", Subdivision: "CA", Continent: "NA", Lat: 37.77, Lon: -122.42, HasCoords: true, Prefix: netip.MustParsePrefix("203.0.113.0/24"), ASN: 64500},
	{Country: "US", Subdivision: "NY", Continent: "NA", Lat: 40.71, Lon: -74.0, HasCoords: true, Prefix: netip.MustParsePrefix("192.0.2.0/25")},
	{Country: "JP", Continent: "AS", Lat: 35.68, Lon: 139.69, HasCoords: true, Prefix: netip.MustParsePrefix("2001:db8:1::/48")},
	{Country: "FR", Continent: "EU", Prefix: netip.MustParsePrefix("100.64.0.0/16")}, // no coordinates
}

func env(h Health, seed uint64) *Env {
	return &Env{Geo: testGeo, Health: h, Rand: rand.NewPCG(seed, 0x5eed)}
}

func query(name string, qtype uint16, src string) *Query {
	return &Query{Name: name, Type: qtype, Source: netip.MustParseAddr(src)}
}

func withECS(q *Query, ecs string) *Query {
	q.ECS, q.HasECS = netip.MustParsePrefix(ecs), true
	return q
}

// answer is a decision in names: pool name and origin names.
func answer(s *Set, d *Decision) (string, []string) {
	if d.Pool < 0 {
		return "", nil
	}
	p := &s.Pools[d.Pool]
	var o []string
	for _, i := range d.Origins {
		o = append(o, p.Origins[i].Name)
	}
	return p.Name, o
}

// chi2Critical is the critical value of the chi-square distribution with df degrees of freedom
// at significance p (upper tail), by bisection on the regularised lower incomplete gamma.
func chi2Critical(df int, p float64) float64 {
	lo, hi := 0.0, 1000.0
	for range 200 {
		mid := (lo + hi) / 2
		if 1-gammaP(float64(df)/2, mid/2) > p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// gammaP is the regularised lower incomplete gamma function P(a, x), by its power series.
func gammaP(a, x float64) float64 {
	if x <= 0 {
		return 0
	}
	sum, term := 1/a, 1/a
	for n := 1; n < 10000; n++ {
		term *= x / (a + float64(n))
		sum += term
		if term < sum*1e-15 {
			break
		}
	}
	lg, _ := math.Lgamma(a)
	return sum * math.Exp(-x+a*math.Log(x)-lg)
}

func TestChi2Critical(t *testing.T) {
	for _, c := range []struct {
		df   int
		want float64
	}{{1, 10.828}, {2, 13.816}, {3, 16.266}, {5, 20.515}, {10, 29.588}} {
		if got := chi2Critical(c.df, 0.001); math.Abs(got-c.want) > 0.01 {
			t.Errorf("df %d: %.3f, want %.3f", c.df, got, c.want)
		}
	}
}

// chi2 is the chi-square statistic of counts against expected shares.
func chi2(counts []int, shares []float64) float64 {
	n, total := 0, 0.0
	for _, c := range counts {
		n += c
	}
	for _, s := range shares {
		total += s
	}
	x := 0.0
	for i, c := range counts {
		e := float64(n) * shares[i] / total
		x += (float64(c) - e) * (float64(c) - e) / e
	}
	return x
}

func netipAddr(s string) netip.Addr      { return netip.MustParseAddr(s) }
func netipPrefixP(s string) netip.Prefix { return netip.MustParsePrefix(s) }
