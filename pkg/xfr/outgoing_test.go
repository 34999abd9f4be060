package xfr

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/steer"
	"github.com/lbdns/lbdns/pkg/zone"
)

const lbZone = `$ORIGIN example.test.
$TTL 300
@     IN SOA ns1 hostmaster 10 3600 600 86400 60
@     IN NS  ns1
ns1   IN A   192.0.2.1
www   IN A   192.0.2.10
www   IN TXT "kept"
off   IN A   192.0.2.20
cdn   IN A   192.0.2.30
edge  IN A   192.0.2.40
edge  IN TXT "blocks a CNAME"
*     IN A   192.0.2.99
sub   IN NS  ns.sub
ns.sub IN A  192.0.2.53
`

// downHealth marks the origins of the named pools down.
type downHealth struct {
	set  *steer.Set
	down map[string]bool
}

func (h downHealth) Origin(pool, origin int) steer.State {
	if h.down[h.set.Pools[pool].Name] {
		return steer.Down
	}
	return steer.Up
}
func (h downHealth) PoolRTT(int) (float64, bool) { return 0, false }

func testSet(t *testing.T) *steer.Set {
	t.Helper()
	origin := func(addr string) model.Origin { return model.Origin{Name: addr, Address: addr} }
	pool := func(name string, origins ...model.Origin) model.Pool {
		return model.Pool{Name: name, Monitor: "mon", Origins: origins}
	}
	lb := func(name string, pools ...string) model.LoadBalancer {
		return model.LoadBalancer{Name: name, DefaultPools: pools, FallbackPool: pools[len(pools)-1], TTL: model.Ptr(42)}
	}
	off := lb("off.example.test", "primary")
	off.Enabled = model.Ptr(false)
	cat := &model.Catalog{
		Monitors: []model.Monitor{{Name: "mon", Type: "http"}},
		Pools: []model.Pool{
			pool("primary", origin("198.51.100.1"), origin("198.51.100.2"), origin("2001:db8::1")),
			pool("backup", origin("203.0.113.1")),
			pool("hosts", origin("origin.cdn.example.net")),
		},
		LoadBalancers: []model.LoadBalancer{
			lb("www.example.test", "primary", "backup"),
			off,
			lb("*.example.test", "primary"),
			lb("cdn.example.test", "hosts"),
			lb("edge.example.test", "hosts"),
			lb("new.example.test", "backup"),
			lb("in.sub.example.test", "backup"),
		},
	}
	for i := range cat.Monitors {
		cat.Monitors[i].ID = model.DeriveID(model.KindMonitor, cat.Monitors[i].Name)
	}
	for i := range cat.Pools {
		cat.Pools[i].ID = cat.Pools[i].Name
		cat.Pools[i].Monitor = cat.Monitors[0].ID
	}
	for i := range cat.LoadBalancers {
		cat.LoadBalancers[i].ID = model.DeriveID(model.KindLoadBalancer, cat.LoadBalancers[i].Name)
	}
	cat.Normalize()
	set, err := steer.Compile(cat, steer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// names returns "name type data" for the records of rrs at name, sorted.
func recordsAt(rrs []dns.RR, name string) []string {
	var out []string
	for _, rr := range rrs {
		if strings.EqualFold(rr.Header().Name, name) {
			f := strings.Fields(rr.String())
			out = append(out, f[1]+" "+f[3]+" "+strings.Join(f[4:], " "))
		}
	}
	sort.Strings(out)
	return out
}

func TestOutgoing(t *testing.T) {
	z := mustZone(t, lbZone)
	set := testSet(t)
	h := downHealth{set: set, down: map[string]bool{}}
	out := Outgoing(z, set, h)
	if _, ok := out[0].(*dns.SOA); !ok {
		t.Fatal("the SOA is not first")
	}
	cases := []struct {
		name string
		want []string
	}{
		// Enabled LB: A/AAAA replaced by the default answer with the LB's TTL; TXT kept.
		{"www.example.test.", []string{"300 TXT \"kept\"", "42 A 198.51.100.1", "42 A 198.51.100.2", "42 AAAA 2001:db8::1"}},
		// Disabled LB: the zone data.
		{"off.example.test.", []string{"300 A 192.0.2.20"}},
		// Wildcard LB: not expanded; the zone wildcard stays.
		{"*.example.test.", []string{"300 A 192.0.2.99"}},
		// Hostname origins: a CNAME where nothing else lives, none beside other data.
		{"cdn.example.test.", []string{"42 CNAME origin.cdn.example.net."}},
		{"edge.example.test.", []string{"300 TXT \"blocks a CNAME\""}},
		// An LB name with no zone data gets its records.
		{"new.example.test.", []string{"42 A 203.0.113.1"}},
		// Below a delegation: nothing added.
		{"in.sub.example.test.", nil},
		{"ns1.example.test.", []string{"300 A 192.0.2.1"}},
	}
	for _, c := range cases {
		if got := recordsAt(out, c.name); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if _, err := zone.FromRRs(testZoneFQDN, out); err != nil {
		t.Errorf("the outgoing data is not a valid zone: %v", err)
	}
	// The primary pool down: www moves to the backup pool.
	h.down["primary"] = true
	out = Outgoing(z, set, h)
	if got := recordsAt(out, "www.example.test."); !slices.Equal(got, []string{"300 TXT \"kept\"", "42 A 203.0.113.1"}) {
		t.Errorf("www with primary down: %q", got)
	}
	// Without load balancers, the zone as is.
	if got := Outgoing(z, nil, nil); len(got) != len(z.RRs()) {
		t.Errorf("no LBs: %d records, want %d", len(got), len(z.RRs()))
	}
}
