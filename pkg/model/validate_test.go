package model

import (
	"errors"
	"strings"
	"testing"
)

// want is one expected problem: exact path, a substring of the message, and the severity.
type want struct {
	path, msg string
	warning   bool
}

func check(t *testing.T, got Problems, w *want) {
	t.Helper()
	if w == nil {
		if len(got) != 0 {
			t.Fatalf("want no problem, got %v", got)
		}
		return
	}
	for _, p := range got {
		if p.Path == w.path && strings.Contains(p.Msg, w.msg) && p.Warning == w.warning {
			return
		}
	}
	t.Fatalf("want %q: %q (warning=%v), got %v", w.path, w.msg, w.warning, got)
}

func goodMonitor() *Monitor {
	m := &Monitor{Name: "web"}
	NormalizeMonitor(m)
	return m
}

func TestValidateMonitor(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *Monitor)
		want *want
	}{
		{"defaults are valid", func(m *Monitor) {}, nil},
		{"type", func(m *Monitor) { m.Type = "ldap" }, &want{"type", `unknown monitor type "ldap"`, false}},
		{"interval low", func(m *Monitor) { m.Interval = 4 }, &want{"interval", "4 is outside 5..3600", false}},
		{"interval high", func(m *Monitor) { m.Interval = 3601 }, &want{"interval", "3601 is outside 5..3600", false}},
		{"timeout", func(m *Monitor) { m.Timeout = -1 }, &want{"timeout", "at least 1", false}},
		{"retries", func(m *Monitor) { m.Retries = Ptr(6) }, &want{"retries", "6 is outside 0..5", false}},
		{"retries negative", func(m *Monitor) { m.Retries = Ptr(-1) }, &want{"retries", "outside 0..5", false}},
		{"consecutive_up", func(m *Monitor) { m.ConsecutiveUp = -2 }, &want{"consecutive_up", "at least 1", false}},
		{"consecutive_down", func(m *Monitor) { m.ConsecutiveDown = -1 }, &want{"consecutive_down", "at least 1", false}},
		{"codes list", func(m *Monitor) { m.ExpectedCodes = "200, 301 3xx" }, nil},
		{"codes bad", func(m *Monitor) { m.ExpectedCodes = "200,20x" }, &want{"expected_codes", `"20x" is not a status code`, false}},
		{"codes range", func(m *Monitor) { m.ExpectedCodes = "600" }, &want{"expected_codes", `"600"`, false}},
		{"codes empty list", func(m *Monitor) { m.ExpectedCodes = " , " }, &want{"expected_codes", "no status code", false}},
		{"path", func(m *Monitor) { m.Path = "health" }, &want{"path", "must start with /", false}},
		{"method", func(m *Monitor) { m.Method = "GE T" }, &want{"method", "not an HTTP method", false}},
		{"tcp method", func(m *Monitor) { m.Type = MonitorTCP; m.Method = "GET" }, &want{"method", "connection_established", false}},
		{"header name", func(m *Monitor) { m.Header = map[string][]string{"Bad Name": {"x"}} }, &want{`header["Bad Name"]`, "not a valid header name", false}},
		{"user agent", func(m *Monitor) { m.Header = map[string][]string{"User-Agent": {"x"}} }, &want{"header.User-Agent", "cannot be overridden", true}},
		{"header on tcp", func(m *Monitor) {
			m.Type, m.Method = MonitorTCP, MethodConnectionEstablished
			m.Header = map[string][]string{"Host": {"x"}}
		}, &want{"header", "no effect on tcp", true}},
		{"probe_zone", func(m *Monitor) { m.ProbeZone = "example.com" }, &want{"probe_zone", "no effect", true}},
		{"overlap", func(m *Monitor) { m.Interval, m.Timeout = 10, 5 }, &want{"timeout", "exceeds the interval", true}},
		{"no name", func(m *Monitor) { m.Name = "" }, &want{"name", "needs a name", false}},
		{"bad id", func(m *Monitor) { m.ID = "has space" }, &want{"id", "not a valid id", false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := goodMonitor()
			c.edit(m)
			check(t, ValidateMonitor(m, ""), c.want)
		})
	}
}

func TestValidateMonitorPrefix(t *testing.T) {
	m := goodMonitor()
	m.Interval = 1
	check(t, ValidateMonitor(m, "monitors[3]"), &want{"monitors[3].interval", "outside", false})
}

func goodPool() *Pool {
	p := &Pool{Name: "eu", Origins: []Origin{{Name: "a", Address: "192.0.2.1"}, {Name: "b", Address: "2001:db8::1"}}}
	NormalizePool(p)
	return p
}

func TestValidatePool(t *testing.T) {
	cases := []struct {
		name string
		edit func(p *Pool)
		want *want
	}{
		{"defaults are valid", func(p *Pool) {}, nil},
		{"hostname origin", func(p *Pool) { p.Origins[0].Address = "web.example.net." }, nil},
		{"weight high", func(p *Pool) { p.Origins[1].Weight = Ptr(2.5) }, &want{"origins[1].weight", "2.5 is outside 0..1", false}},
		{"weight negative", func(p *Pool) { p.Origins[0].Weight = Ptr(-0.1) }, &want{"origins[0].weight", "outside 0..1", false}},
		{"weight step", func(p *Pool) { p.Origins[0].Weight = Ptr(0.125) }, &want{"origins[0].weight", "multiple of 0.01", false}},
		{"weight 0.07 ok", func(p *Pool) { p.Origins[0].Weight = Ptr(0.07) }, nil},
		{"address", func(p *Pool) { p.Origins[0].Address = "not valid!" }, &want{"origins[0].address", "neither an IP address nor a hostname", false}},
		{"address bad ipv4", func(p *Pool) { p.Origins[0].Address = "192.0.2.300" }, &want{"origins[0].address", "neither", false}},
		{"address zone", func(p *Pool) { p.Origins[0].Address = "fe80::1%eth0" }, &want{"origins[0].address", "neither", false}},
		{"address empty", func(p *Pool) { p.Origins[0].Address = "" }, &want{"origins[0].address", "needs an address", false}},
		{"address twice", func(p *Pool) { p.Origins[1].Address = "192.0.2.1" }, &want{"origins[1].address", "appears twice", false}},
		{"origin name twice", func(p *Pool) { p.Origins[1].Name = "a" }, &want{"origins[1].name", "duplicate origin name", false}},
		{"origin name", func(p *Pool) { p.Origins[1].Name = "" }, &want{"origins[1].name", "needs a name", false}},
		{"no origins", func(p *Pool) { p.Origins = nil }, &want{"origins", "at least one origin", false}},
		{"name", func(p *Pool) { p.Name = "eu west" }, &want{"name", "only letters", false}},
		{"no name", func(p *Pool) { p.Name = "" }, &want{"name", "needs a name", false}},
		{"minimum_origins", func(p *Pool) { p.MinimumOrigins = Ptr(3) }, &want{"minimum_origins", "can never be healthy", true}},
		{"minimum_origins disabled", func(p *Pool) { p.Origins[0].Enabled = Ptr(false); p.MinimumOrigins = Ptr(2) }, &want{"minimum_origins", "2 is more than the 1 enabled", true}},
		{"minimum_origins negative", func(p *Pool) { p.MinimumOrigins = Ptr(-1) }, &want{"minimum_origins", "negative", false}},
		{"monitor group", func(p *Pool) { p.MonitorGroup = "g" }, nil},
		{"monitor and group", func(p *Pool) { p.MonitorGroup = "g"; p.Monitor = "m" }, &want{"monitor_group", "not both", false}},
		{"shedding percent", func(p *Pool) { p.LoadShedding = &LoadShedding{DefaultPercent: 101} }, &want{"load_shedding.default_percent", "outside 0..100", false}},
		{"shedding session percent", func(p *Pool) { p.LoadShedding = &LoadShedding{SessionPercent: -1} }, &want{"load_shedding.session_percent", "outside 0..100", false}},
		{"shedding policy", func(p *Pool) { p.LoadShedding = &LoadShedding{DefaultPolicy: "x"} }, &want{"load_shedding.default_policy", "unknown policy", false}},
		{"shedding session policy", func(p *Pool) { p.LoadShedding = &LoadShedding{SessionPolicy: "random"} }, &want{"load_shedding.session_policy", "want hash", false}},
		{"origin steering", func(p *Pool) { p.OriginSteering.Policy = "rr" }, &want{"origin_steering.policy", `unknown policy "rr"`, false}},
		{"check regions", func(p *Pool) { p.CheckRegions = []string{"WEU", "XX"} }, &want{"check_regions[1]", `unknown region "XX"`, false}},
		{"coordinates pair", func(p *Pool) { p.Latitude = Ptr(1.0) }, &want{"latitude", "go together", false}},
		{"latitude range", func(p *Pool) { p.Latitude, p.Longitude = Ptr(91.0), Ptr(0.0) }, &want{"latitude", "outside -90..90", false}},
		{"longitude range", func(p *Pool) { p.Latitude, p.Longitude = Ptr(0.0), Ptr(181.0) }, &want{"longitude", "outside -180..180", false}},
		{"origin host header", func(p *Pool) { p.Origins[0].Header = map[string][]string{"Host": {"a", "b"}} }, &want{"origins[0].header.Host", "exactly one value", false}},
		{"origin other header", func(p *Pool) { p.Origins[0].Header = map[string][]string{"X-Y": {"a"}} }, &want{"origins[0].header.X-Y", "only the Host header", true}},
		{"virtual network", func(p *Pool) { p.Origins[0].VirtualNetworkID = "x" }, &want{"origins[0].virtual_network_id", "no effect", true}},
		{"networks", func(p *Pool) { p.Networks = []string{"cloudflare"} }, &want{"networks", "no effect", true}},
		{"notification email", func(p *Pool) { p.NotificationEmail = "a@b" }, &want{"notification_email", "deprecated", true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := goodPool()
			c.edit(p)
			check(t, ValidatePool(p, ""), c.want)
		})
	}
}

func goodLB() *LoadBalancer {
	lb := &LoadBalancer{Name: "www.example.com", DefaultPools: []string{"a", "b"}}
	NormalizeLoadBalancer(lb)
	return lb
}

func TestValidateLoadBalancer(t *testing.T) {
	zones := []string{"example.com"}
	cases := []struct {
		name  string
		edit  func(lb *LoadBalancer)
		zones []string
		want  *want
	}{
		{"defaults are valid", func(lb *LoadBalancer) {}, zones, nil},
		{"apex", func(lb *LoadBalancer) { lb.Name = "example.com" }, zones, nil},
		{"wildcard", func(lb *LoadBalancer) { lb.Name = "*.example.com" }, zones, nil},
		{"nil zones skip", func(lb *LoadBalancer) { lb.Name = "www.other.org" }, nil, nil},
		{"outside zone", func(lb *LoadBalancer) { lb.Name = "www.example.org" }, zones, &want{"name", "not inside any configured zone", false}},
		{"suffix is not a zone", func(lb *LoadBalancer) { lb.Name = "wwwexample.com" }, zones, &want{"name", "not inside", false}},
		{"no zones", func(lb *LoadBalancer) {}, []string{}, &want{"name", "no zones are configured", false}},
		{"bad wildcard", func(lb *LoadBalancer) { lb.Name = "www.*.example.com" }, zones, &want{"name", "not a hostname", false}},
		{"bad name", func(lb *LoadBalancer) { lb.Name = "a..example.com" }, zones, &want{"name", "not a hostname", false}},
		{"no name", func(lb *LoadBalancer) { lb.Name = "" }, zones, &want{"name", "needs a name", false}},
		{"proxied", func(lb *LoadBalancer) { lb.Proxied = true }, zones, &want{"proxied", "DNS-only", false}},
		{"ttl zero", func(lb *LoadBalancer) { lb.TTL = Ptr(0) }, zones, &want{"ttl", "0 is outside 1..86400", false}},
		{"ttl high", func(lb *LoadBalancer) { lb.TTL = Ptr(86401) }, zones, &want{"ttl", "outside 1..86400", false}},
		{"no default pools", func(lb *LoadBalancer) { lb.DefaultPools = nil }, zones, &want{"default_pools", "at least one default pool", false}},
		{"pool twice", func(lb *LoadBalancer) { lb.DefaultPools = []string{"a", "a"} }, zones, &want{"default_pools[1]", "listed twice", false}},
		{"steering", func(lb *LoadBalancer) { lb.SteeringPolicy = "fastest" }, zones, &want{"steering_policy", `unknown steering policy "fastest"`, false}},
		{"region key", func(lb *LoadBalancer) { lb.RegionPools = map[string][]string{"EU": {"a"}} }, zones, &want{"region_pools.EU", "unknown region code", false}},
		{"country key", func(lb *LoadBalancer) { lb.CountryPools = map[string][]string{"UK": {"a"}} }, zones, &want{"country_pools.UK", "unknown country code", false}},
		{"subdivision key", func(lb *LoadBalancer) { lb.CountryPools = map[string][]string{"US-CA": {"a"}, "CA-QC": {"b"}} }, zones, nil},
		{"bad subdivision key", func(lb *LoadBalancer) { lb.CountryPools = map[string][]string{"US-XX": {"a"}} }, zones, &want{"country_pools.US-XX", "unknown country code", false}},
		{"lowercase country", func(lb *LoadBalancer) { lb.CountryPools = map[string][]string{"us": {"a"}} }, zones, &want{"country_pools.us", "unknown country code", false}},
		{"pop key", func(lb *LoadBalancer) { lb.PopPools = map[string][]string{"L H R": {"a"}} }, zones, &want{`pop_pools["L H R"]`, "not a PoP code", false}},
		{"empty geo list", func(lb *LoadBalancer) { lb.RegionPools = map[string][]string{"WEU": {}} }, zones, &want{"region_pools.WEU", "empty pool list", true}},
		{"pool weight", func(lb *LoadBalancer) { lb.RandomSteering = &RandomSteering{PoolWeights: map[string]float64{"a": 1.2}} }, zones, &want{"random_steering.pool_weights.a", "outside 0..1", false}},
		{"default weight", func(lb *LoadBalancer) { lb.RandomSteering = &RandomSteering{DefaultWeight: Ptr(0.001)} }, zones, &want{"random_steering.default_weight", "multiple of 0.01", false}},
		{"prefer_ecs", func(lb *LoadBalancer) { lb.LocationStrategy.PreferECS = "maybe" }, zones, &want{"location_strategy.prefer_ecs", "unknown value", false}},
		{"mode", func(lb *LoadBalancer) { lb.LocationStrategy.Mode = "gps" }, zones, &want{"location_strategy.mode", "unknown mode", false}},
		{"affinity", func(lb *LoadBalancer) { lb.SessionAffinity = "sticky" }, zones, &want{"session_affinity", "unknown value", false}},
		{"affinity cookie", func(lb *LoadBalancer) { lb.SessionAffinity = AffinityCookie }, zones, &want{"session_affinity", "no effect", true}},
		{"affinity header", func(lb *LoadBalancer) { lb.SessionAffinity = AffinityHeader }, zones, &want{"session_affinity", "no effect", true}},
		{"affinity ip_cookie", func(lb *LoadBalancer) { lb.SessionAffinity = AffinityIPCookie }, zones, nil},
		{"affinity attributes", func(lb *LoadBalancer) { lb.SessionAffinityAttributes = &SessionAffinityAttributes{} }, zones, &want{"session_affinity_attributes", "no effect", true}},
		{"adaptive routing", func(lb *LoadBalancer) { lb.AdaptiveRouting = &AdaptiveRouting{} }, zones, &want{"adaptive_routing", "no effect", true}},
		{"networks", func(lb *LoadBalancer) { lb.Networks = []string{"cloudflare"} }, zones, &want{"networks", "no effect", true}},
		{"null rule", func(lb *LoadBalancer) { lb.Rules = []*Rule{nil} }, zones, &want{"rules[0]", "cannot be null", false}},
		{"fixed response", func(lb *LoadBalancer) { lb.Rules = []*Rule{{FixedResponse: &FixedResponse{StatusCode: 418}}} }, zones, &want{"rules[0].fixed_response", "HTTP-only", false}},
		{"rule ttl", func(lb *LoadBalancer) { lb.Rules = []*Rule{{Overrides: RuleOverrides{TTL: Ptr(0)}}} }, zones, &want{"rules[0].overrides.ttl", "outside 1..86400", false}},
		{"rule steering", func(lb *LoadBalancer) { lb.Rules = []*Rule{{Overrides: RuleOverrides{SteeringPolicy: Ptr("x")}}} }, zones, &want{"rules[0].overrides.steering_policy", "unknown steering policy", false}},
		{"rule country", func(lb *LoadBalancer) {
			lb.Rules = []*Rule{{}, {Overrides: RuleOverrides{CountryPools: map[string][]string{"XX": {"a"}}}}}
		}, zones, &want{"rules[1].overrides.country_pools.XX", "unknown country code", false}},
		{"rule priority", func(lb *LoadBalancer) { lb.Rules = []*Rule{{Priority: -1}} }, zones, &want{"rules[0].priority", "negative", false}},
		{"rule affinity", func(lb *LoadBalancer) { lb.Rules = []*Rule{{Overrides: RuleOverrides{SessionAffinity: "cookie"}}} }, zones, &want{"rules[0].overrides.session_affinity", "no effect", true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lb := goodLB()
			c.edit(lb)
			check(t, ValidateLoadBalancer(lb, "", c.zones), c.want)
		})
	}
}

func TestRuleChecker(t *testing.T) {
	old := RuleChecker
	defer func() { RuleChecker = old }()
	RuleChecker = func(cond string) error {
		if strings.HasPrefix(cond, "http.") {
			return errors.New("http.* fields are proxied-only")
		}
		return nil
	}
	lb := goodLB()
	lb.Rules = []*Rule{{Condition: `ip.src.country == "NL"`}, {Condition: `http.host == "x"`}}
	check(t, ValidateLoadBalancer(lb, "load_balancers[0]", []string{"example.com"}),
		&want{"load_balancers[0].rules[1].condition", "proxied-only", false})
	if ps := ValidateLoadBalancer(lb, "", nil); len(ps) != 1 {
		t.Fatalf("want exactly one problem, got %v", ps)
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Path: "pools[2].origins[0].weight", Msg: "2.5 is outside 0..1"}
	if got := p.String(); got != "pools[2].origins[0].weight: 2.5 is outside 0..1" {
		t.Fatal(got)
	}
	ps := Problems{p, {Path: "x", Msg: "w", Warning: true}}
	if !ps.HasErrors() || len(ps.Errors()) != 1 || len(ps.Warnings()) != 1 {
		t.Fatal("Errors/Warnings split")
	}
	if err := ps.Err(); err == nil || err.Error() != p.String() {
		t.Fatalf("Err() = %v", err)
	}
	if (Problems{{Msg: "w", Warning: true}}).Err() != nil {
		t.Fatal("warnings only must give a nil error")
	}
	if got := Key("header", "X Y"); got != `header["X Y"]` {
		t.Fatal(got)
	}
}
