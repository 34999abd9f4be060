package steer

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

func rulesCatalog(rs ...*model.Rule) *model.Catalog {
	l := mlb("lb.example.com", "off", "a", "b")
	l.Rules = rs
	return catalog([]model.Pool{
		mpool("a", true, orig("192.0.2.1")),
		mpool("b", true, orig("192.0.2.2")),
		mpool("c", true, orig("192.0.2.3")),
		mpool("de", true, orig("192.0.2.4")),
	}, l)
}

func TestRules(t *testing.T) {
	pools := func(p ...string) model.RuleOverrides { return model.RuleOverrides{DefaultPools: p} }
	cases := []struct {
		name  string
		rules []*model.Rule
		q     *Query
		pool  string
		ttl   uint32
		scope int
	}{
		{"no match keeps the LB", []*model.Rule{{Condition: `dns.qry.type == 28`, Overrides: pools("c")}},
			query("lb.example.com.", qA, "192.0.2.200"), "a", 30, 0},
		{"match overrides default_pools", []*model.Rule{{Condition: `dns.qry.type == 1`, Overrides: pools("c")}},
			query("lb.example.com.", qA, "192.0.2.200"), "c", 30, 0},
		{"empty condition is true; ttl override (ruling 19)", []*model.Rule{{Overrides: model.RuleOverrides{TTL: model.Ptr(120)}}},
			query("lb.example.com.", qA, "192.0.2.200"), "a", 120, 0},
		{"last match wins for non-terminating rules", []*model.Rule{
			{Condition: ``, Overrides: pools("c")},
			{Condition: `dns.qry.name eq "lb.example.com"`, Overrides: pools("b")}},
			query("lb.example.com.", qA, "192.0.2.200"), "b", 30, 0},
		{"terminates stops evaluation", []*model.Rule{
			{Condition: ``, Overrides: pools("c"), Terminates: true},
			{Condition: ``, Overrides: pools("b")}},
			query("lb.example.com.", qA, "192.0.2.200"), "c", 30, 0},
		{"priority order, not array order", []*model.Rule{
			{Condition: ``, Overrides: pools("b"), Priority: 2},
			{Condition: ``, Overrides: pools("c"), Priority: 1}},
			query("lb.example.com.", qA, "192.0.2.200"), "b", 30, 0},
		{"disabled rule skipped", []*model.Rule{{Condition: ``, Overrides: pools("c"), Disabled: true}},
			query("lb.example.com.", qA, "192.0.2.200"), "a", 30, 0},
		{"ip.src is the ECS address; scope = ECS prefix", []*model.Rule{{Condition: `ip.src in {203.0.113.0/24}`, Overrides: pools("c")}},
			withECS(query("lb.example.com.", qA, "192.0.2.200"), "203.0.113.0/24"), "c", 30, 24},
		{"ip.src.country by GeoIP; scope = GeoIP network", []*model.Rule{{Condition: `ip.src.country eq "DE"`, Overrides: pools("de")}},
			withECS(query("lb.example.com.", qA, "192.0.2.200"), "198.51.100.0/24"), "de", 30, 22},
		{"country rule without ECS uses the resolver", []*model.Rule{{Condition: `ip.src.country eq "DE"`, Overrides: pools("de")}},
			query("lb.example.com.", qA, "198.51.100.9"), "de", 30, 0},
		{"rules work together with geo steering (ruling 18)", []*model.Rule{{Condition: `dns.qry.type == 1`,
			Overrides: model.RuleOverrides{SteeringPolicy: model.Ptr("geo"), CountryPools: map[string][]string{"GB": {"b"}}}}},
			query("lb.example.com.", qA, "192.0.2.200"), "b", 30, 0},
		{"fallback_pool override", []*model.Rule{{Condition: ``,
			Overrides: model.RuleOverrides{DefaultPools: []string{}, FallbackPool: "c"}}},
			query("lb.example.com.", qA, "192.0.2.200"), "c", 30, 0},
		{"cf.load_balancer.name and region", []*model.Rule{{Condition: `cf.load_balancer.name eq "lb.example.com" and cf.load_balancer.region eq "WEU"`, Overrides: pools("c")}},
			query("lb.example.com.", qA, "192.0.2.200"), "c", 30, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustCompile(t, rulesCatalog(c.rules...))
			var d Decision
			var tr Trace
			s.Decide(0, env(newHealth(s), 1), c.q, &d, &tr)
			if p, _ := answer(s, &d); p != c.pool || d.TTL != c.ttl || d.Scope != c.scope {
				t.Errorf("pool %s TTL %d scope %d, want %s %d %d\n%s", p, d.TTL, d.Scope, c.pool, c.ttl, c.scope, tr.String())
			}
		})
	}
}

func TestRulesDoNotMutate(t *testing.T) {
	s := mustCompile(t, rulesCatalog(&model.Rule{Condition: `ip.src in {203.0.113.0/24}`,
		Overrides: model.RuleOverrides{DefaultPools: []string{"c"}, TTL: model.Ptr(5)}}))
	var d Decision
	s.Decide(0, env(newHealth(s), 1), withECS(query("lb.example.com.", qA, "192.0.2.200"), "203.0.113.0/24"), &d, nil)
	s.Decide(0, env(newHealth(s), 1), query("lb.example.com.", qA, "192.0.2.200"), &d, nil)
	if p, _ := answer(s, &d); p != "a" || d.TTL != 30 || s.LBs[0].TTL != 30 {
		t.Errorf("a later query sees %s TTL %d: the override leaked", p, d.TTL)
	}
}

func TestRuleErrors(t *testing.T) {
	_, err := Compile(rulesCatalog(
		&model.Rule{Name: "bad", Condition: `http.host eq "x"`},
		&model.Rule{Name: "fixed", Condition: ``, FixedResponse: &model.FixedResponse{StatusCode: 200}},
		&model.Rule{Name: "ref", Condition: ``, Overrides: model.RuleOverrides{DefaultPools: []string{"nope"}}},
	), Options{})
	for _, want := range []string{"rules[0].condition", "rules[1].fixed_response", `rules[2].overrides.default_pools[0]: unknown pool "nope"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestRulesZeroAllocs(t *testing.T) {
	s := mustCompile(t, rulesCatalog(
		&model.Rule{Condition: `ip.src.country eq "US" and dns.qry.type == 28`, Overrides: model.RuleOverrides{DefaultPools: []string{"c"}}},
		&model.Rule{Condition: `ip.src in {198.51.100.0/24}`, Overrides: model.RuleOverrides{DefaultPools: []string{"de"}}},
	))
	e := &Env{Geo: testGeo, Health: newHealth(s), Rand: rand.NewPCG(1, 1)}
	q := withECS(query("lb.example.com.", qA, "192.0.2.200"), "198.51.100.0/24")
	d := Decision{Origins: make([]int, 0, 4)}
	if n := testing.AllocsPerRun(1000, func() { s.Decide(0, e, q, &d, nil) }); n != 0 {
		t.Errorf("%.1f allocations with rules, want 0", n)
	}
	if p, _ := answer(s, &d); p != "de" {
		t.Errorf("pool %s, want de", p)
	}
}
