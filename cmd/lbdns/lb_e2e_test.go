package main

// End-to-end tests of load-balanced answers (issue 3, "Show it works"): a real `lbdns serve`
// with a generated GeoIP database, queried over UDP and TCP, with and without EDNS Client
// Subnet, from several resolver addresses of the loopback network.

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/geo/geotest"
)

const lbZone = `$ORIGIN lb.test.
$TTL 300
@         IN SOA ns1 hostmaster 1 3600 600 86400 60
@         IN NS  ns1
@         IN A   192.0.2.1
@         IN MX  50 zonemx
ns1       IN A   127.0.0.1
zonemx    IN A   192.0.2.99
exact     IN A   192.0.2.250
exact     IN TXT "zone txt"
www.wild  IN A   192.0.2.251
*.wild2   IN A   192.0.2.252
*.wild2   IN TXT "zone wildcard"
mail1     IN A   192.0.2.25
mail2     IN A   192.0.2.26
sip1      IN A   192.0.2.60
sip2      IN A   192.0.2.61
target    IN A   192.0.2.77
disabled  IN A   192.0.2.240
`

// lbConfig is the config of the load-balancing end-to-end tests; %[1]s is the GeoIP database,
// %[2]d the monitor's port: closed on 127.0.0.51-52 (probes refused: down), an HTTP listener
// answering 200 on 127.0.0.53 (up).
const lbConfig = `server:
  listen: ["127.0.0.1:0"]
  pop: { code: LHR, region: WEU, country: GB, latitude: 51.47, longitude: -0.45 }
metrics:
  listen: "127.0.0.1:0"
geoip:
  city: %[1]s
zones:
  - name: lb.test
    file: lb.test.zone
monitors:
  - { name: web, type: http, port: %[2]d, interval: 60, timeout: 1, retries: 0 }
pools:
  - { name: us,   latitude: 37.4,  longitude: -122.1, origins: [ { name: us-1, address: 198.51.100.1 } ] }
  - name: eu
    latitude: 50.1
    longitude: 8.7
    origins:
      - { name: eu-1, address: 198.51.100.2 }
      - { name: eu-1-v6, address: "2001:db8::2" }
  - { name: asia, latitude: 35.68, longitude: 139.69, origins: [ { name: asia-1, address: 198.51.100.3 } ] }
  - { name: ca,   origins: [ { name: ca-1, address: 198.51.100.4 } ] }
  - { name: lhr,  origins: [ { name: lhr-1, address: 198.51.100.5 } ] }
  - { name: v6only, origins: [ { name: v6-1, address: "2001:db8::6" } ] }
  - name: weighted
    origin_steering: { policy: random }
    origins:
      - { name: small, address: 198.51.100.10, weight: 0.2 }
      - { name: large, address: 198.51.100.11, weight: 0.8 }
  - name: hashpool
    origin_steering: { policy: hash }
    origins:
      - { name: h1, address: 198.51.100.20, weight: 0.5 }
      - { name: h2, address: 198.51.100.21, weight: 1 }
  - name: multi
    origins:
      - { name: m1, address: 198.51.100.30 }
      - { name: m2, address: 198.51.100.31 }
      - { name: m3, address: 198.51.100.32 }
  - { name: hostpool, origins: [ { name: target, address: target.lb.test } ] }
  - name: mixed
    origins:
      - { name: mixed-ip, address: 198.51.100.40 }
      - { name: mixed-host, address: target.lb.test }
  - { name: disabledpool, enabled: false, origins: [ { name: dp-1, address: 198.51.100.50 } ] }
  - name: offorigin
    origins:
      - { name: off, address: 198.51.100.60, enabled: false }
      - { name: zero, address: 198.51.100.61, weight: 0 }
      - { name: on, address: 198.51.100.62 }
  - name: alloff
    origins:
      - { name: alloff-1, address: 198.51.100.70, enabled: false }
      - { name: alloff-2, address: 198.51.100.71, enabled: false }
  - { name: zerow, origins: [ { name: zerow-1, address: 198.51.100.80, weight: 0 } ] }
  - name: mx
    origins:
      - { name: mail1, address: mail1.lb.test, port: 25 }
      - { name: mail2, address: mail2.lb.test, port: 25 }
  - name: srv
    origins:
      - { name: sip1, address: sip1.lb.test, port: 5060, weight: 1 }
      - { name: sip2, address: sip2.lb.test, port: 5061, weight: 0.5 }
  - { name: down1, monitor: web, origins: [ { name: down1-1, address: 127.0.0.51 } ] }
  - { name: down2, monitor: web, origins: [ { name: down2-1, address: 127.0.0.52 } ] }
  - name: minpool
    monitor: web
    minimum_origins: 2
    origins:
      - { name: min-down, address: 127.0.0.51 }
      - { name: min-up, address: 127.0.0.53 }
  - name: degraded
    monitor: web
    origins:
      - { name: deg-down, address: 127.0.0.52 }
      - { name: deg-up, address: 127.0.0.53 }
load_balancers:
  - name: geo.lb.test
    steering_policy: geo
    location_strategy: { prefer_ecs: always, mode: resolver_ip }
    country_pools: { FR: [eu], CA: [ca] }
    region_pools: { WNAM: [us], WEU: [eu], NEAS: [asia] }
    default_pools: [us]
    fallback_pool: eu
  - name: geodef.lb.test
    steering_policy: geo
    country_pools: { GB: [lhr], FR: [eu] }
    region_pools: { WNAM: [us] }
    default_pools: [us]
  - name: pop.lb.test
    location_strategy: { prefer_ecs: always, mode: resolver_ip }
    pop_pools: { LHR: [lhr], SJC: [us] }
    country_pools: { FR: [eu] }
    default_pools: [us]
  - name: prox.lb.test
    steering_policy: proximity
    default_pools: [us, eu, asia]
  - name: rand.lb.test
    steering_policy: random
    random_steering: { default_weight: 1, pool_weights: { us: 0.25, eu: 0.75 } }
    default_pools: [us, eu]
  - { name: wrand.lb.test, steering_policy: "off", default_pools: [weighted] }
  - name: failover.lb.test
    steering_policy: "off"
    default_pools: [disabledpool, v6only, eu]
    fallback_pool: asia
  - { name: hash.lb.test, steering_policy: "off", default_pools: [hashpool] }
  - { name: cookie.lb.test, steering_policy: "off", session_affinity: ip_cookie, default_pools: [multi] }
  - { name: multi.lb.test, steering_policy: "off", default_pools: [multi] }
  - { name: "*.wild.lb.test", default_pools: [us] }
  - { name: "*.wild2.lb.test", default_pools: [asia] }
  - { name: lb.test, default_pools: [mx] }
  - { name: _sip._tcp.lb.test, default_pools: [srv] }
  - { name: cname.lb.test, default_pools: [hostpool] }
  - { name: mixed.lb.test, default_pools: [mixed] }
  - { name: exact.lb.test, ttl: 120, default_pools: [eu] }
  - { name: disabled.lb.test, enabled: false, default_pools: [us] }
  - { name: origins.lb.test, default_pools: [offorigin] }
  - { name: nodata.lb.test, default_pools: [alloff] }
  - { name: zerow.lb.test, steering_policy: "off", default_pools: [zerow, asia] }
  - { name: fb.lb.test, steering_policy: "off", ttl: 45, default_pools: [down1], fallback_pool: down2 }
  - { name: fblast.lb.test, steering_policy: "off", default_pools: [down1, down2] }
  - { name: fbfam.lb.test, steering_policy: "off", default_pools: [v6only], fallback_pool: eu }
  - { name: min.lb.test, steering_policy: "off", default_pools: [minpool, asia] }
  - { name: degraded.lb.test, steering_policy: "off", default_pools: [degraded, asia] }
`

// lbMonitorPort returns a TCP port that nothing listens on at 127.0.0.51 and 127.0.0.52 (it
// was free a moment ago) and where an HTTP server answering 200 listens at 127.0.0.53.
func lbMonitorPort(t *testing.T) int {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.51:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.52:%d", port))
		if err != nil {
			ln.Close()
			continue
		}
		up, err := net.Listen("tcp", fmt.Sprintf("127.0.0.53:%d", port))
		ln.Close()
		ln2.Close()
		if err != nil {
			continue
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(up) }()
		t.Cleanup(func() { _ = srv.Close() })
		return port
	}
	t.Fatal("no port free on 127.0.0.51-53 after 20 attempts")
	return 0
}

// startLBServe writes the load-balancing config with a fresh GeoIP database and starts serve.
func startLBServe(t *testing.T) *proc {
	t.Helper()
	p, _ := startLBServeCfg(t)
	return p
}

// startLBServeCfg is startLBServe that also returns the config file's path.
func startLBServeCfg(t *testing.T) (*proc, string) {
	t.Helper()
	dir := t.TempDir()
	db := geotest.Default(t)
	writeFiles(t, dir, map[string]string{
		"lbdns.yaml":   fmt.Sprintf(lbConfig, db, lbMonitorPort(t)),
		"lb.test.zone": lbZone,
	})
	cfg := filepath.Join(dir, "lbdns.yaml")
	return startServe(t, cfg), cfg
}

// lbWithECS adds an OPT record (1232 bytes) with an ECS option for cidr.
func lbWithECS(cidr string) func(*dns.Msg) {
	return func(m *dns.Msg) {
		pfx := netip.MustParsePrefix(cidr)
		e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: uint8(pfx.Bits()), Address: net.IP(pfx.Addr().AsSlice())}
		e.Family = 1
		if pfx.Addr().Is6() {
			e.Family = 2
		}
		m.SetEdns0(1232, false)
		o := m.IsEdns0()
		o.Option = append(o.Option, e)
	}
}

// lbWithRawECS adds an OPT record with an ECS option whose bytes are given as is (for malformed
// options that miekg/dns refuses to pack).
func lbWithRawECS(data []byte) func(*dns.Msg) {
	return func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: data})
	}
}

// lbQueryFrom is query with the client socket bound to src (an address of 127.0.0.0/8), so the
// server sees that resolver address. src "" = the system's choice (127.0.0.1).
func lbQueryFrom(t *testing.T, netw, addr, src, name string, qtype uint16, opts ...func(*dns.Msg)) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	for _, o := range opts {
		o(m)
	}
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	if src != "" {
		ip := net.ParseIP(src)
		d := &net.Dialer{Timeout: 2 * time.Second}
		if netw == "tcp" {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		}
		c.Dialer = d
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s from %q: %v", netw, name, dns.TypeToString[qtype], src, err)
	}
	return r
}

// lbECSOf returns the ECS option of a reply, or nil.
func lbECSOf(m *dns.Msg) *dns.EDNS0_SUBNET {
	o := m.IsEdns0()
	if o == nil {
		return nil
	}
	for _, opt := range o.Option {
		if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
			return e
		}
	}
	return nil
}

// lbRdata is the sorted RDATA of rrs (owner, TTL and class left out), joined by " | ".
func lbRdata(rrs []dns.RR) string {
	var out []string
	for _, rr := range rrs {
		h := rr.Header()
		out = append(out, dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	sort.Strings(out)
	return strings.Join(out, " | ")
}

// lbCheckECSEcho checks that a reply to a query with ECS cidr carries ECS back: same family,
// source prefix and address (RFC 7871 §7.2.1), and returns the scope.
func lbCheckECSEcho(t *testing.T, r *dns.Msg, cidr string) int {
	t.Helper()
	e := lbECSOf(r)
	if e == nil {
		t.Errorf("reply to a query with ECS %s carries no ECS:\n%v", cidr, r)
		return -1
	}
	pfx := netip.MustParsePrefix(cidr)
	addr, _ := netip.AddrFromSlice(e.Address)
	if int(e.SourceNetmask) != pfx.Bits() || addr.Unmap() != pfx.Addr() {
		t.Errorf("ECS echoed as %s/%d, sent %s", e.Address, e.SourceNetmask, cidr)
	}
	return int(e.SourceScope)
}

// lbCase is one query and what the reply must be.
type lbCase struct {
	what   string
	name   string
	qtype  uint16
	ecs    string // "" = no ECS option
	src    string // resolver address ("" = 127.0.0.1: US/CA, WNAM)
	rcode  int
	answer string // lbRdata(Answer)
	extra  string // lbRdata(Extra without OPT); "" = not checked, "(none)" = empty
	ttl    uint32 // of every answer record; 0 = not checked
	scope  int    // ECS scope; checked only with ecs set
	soa    bool   // SOA expected in the authority section (negative answer)
}

func runLBCase(t *testing.T, p *proc, c lbCase) {
	t.Helper()
	for _, netw := range []string{"udp", "tcp"} {
		addr := p.DNS
		if netw == "tcp" {
			addr = p.TCP
		}
		var opts []func(*dns.Msg)
		if c.ecs != "" {
			opts = append(opts, lbWithECS(c.ecs))
		}
		r := lbQueryFrom(t, netw, addr, c.src, c.name, c.qtype, opts...)
		where := fmt.Sprintf("%s: %s %s ecs=%q src=%q", netw, c.name, dns.TypeToString[c.qtype], c.ecs, c.src)
		if r.Rcode != c.rcode || !r.Authoritative {
			t.Errorf("%s: rcode %s AA %v, want %s AA\n%v", where, dns.RcodeToString[r.Rcode], r.Authoritative, dns.RcodeToString[c.rcode], r)
			continue
		}
		if got := lbRdata(r.Answer); got != c.answer {
			t.Errorf("%s: answer\n  %s\nwant\n  %s", where, got, c.answer)
		}
		if c.extra != "" {
			var extra []dns.RR
			for _, rr := range r.Extra {
				if rr.Header().Rrtype != dns.TypeOPT {
					extra = append(extra, rr)
				}
			}
			want := c.extra
			if want == "(none)" {
				want = ""
			}
			if got := lbRdata(extra); got != want {
				t.Errorf("%s: additional\n  %s\nwant\n  %s", where, got, c.extra)
			}
		}
		if c.ttl != 0 {
			for _, rr := range r.Answer {
				if rr.Header().Ttl != c.ttl {
					t.Errorf("%s: TTL %d in %s, want %d", where, rr.Header().Ttl, rr, c.ttl)
				}
			}
		}
		hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
		if c.soa != hasSOA {
			t.Errorf("%s: SOA in authority %v, want %v\n%v", where, hasSOA, c.soa, r)
		}
		if c.soa && hasSOA && r.Ns[0].Header().Ttl != 60 {
			t.Errorf("%s: negative TTL %d, want 60 (min(SOA TTL, MINIMUM), RFC 2308)", where, r.Ns[0].Header().Ttl)
		}
		if c.ecs != "" {
			if s := lbCheckECSEcho(t, r, c.ecs); s >= 0 && s != c.scope {
				t.Errorf("%s: ECS scope /%d, want /%d", where, s, c.scope)
			}
		} else if lbECSOf(r) != nil {
			t.Errorf("%s: ECS in the reply to a query without ECS", where)
		}
	}
}

func TestLBAnswers(t *testing.T) {
	p := startLBServe(t)
	const (
		us    = "A 198.51.100.1"
		eu    = "A 198.51.100.2"
		eu6   = "AAAA 2001:db8::2"
		asia  = "A 198.51.100.3"
		ca    = "A 198.51.100.4"
		lhr   = "A 198.51.100.5"
		multi = "A 198.51.100.30 | A 198.51.100.31 | A 198.51.100.32"
	)
	groups := []struct {
		group string
		cases []lbCase
	}{
		{"geo, prefer_ecs always, mode resolver_ip", []lbCase{
			{what: "ECS in FR: country_pools[FR]", name: "geo.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: eu, ttl: 30, scope: 24},
			{what: "ECS longer than the GeoIP network: scope is the network's /24", name: "geo.lb.test", qtype: dns.TypeA, ecs: "192.0.2.128/25", answer: eu, ttl: 30, scope: 24},
			{what: "ECS in CA/QC: country_pools[CA] before region ENAM", name: "geo.lb.test", qtype: dns.TypeA, ecs: "127.0.9.0/24", answer: ca, scope: 24},
			{what: "ECS in DE: region_pools[WEU]", name: "geo.lb.test", qtype: dns.TypeA, ecs: "127.0.3.0/24", answer: eu, scope: 24},
			{what: "ECS in JP: region_pools[NEAS]", name: "geo.lb.test", qtype: dns.TypeA, ecs: "127.0.4.0/24", answer: asia, scope: 24},
			{what: "ECS in AR (SSAM, no key): default_pools, still decided by ECS", name: "geo.lb.test", qtype: dns.TypeA, ecs: "203.0.113.0/24", answer: us, scope: 24},
			{what: "ECS in SG (SEAS, no key): default_pools", name: "geo.lb.test", qtype: dns.TypeA, ecs: "198.51.100.0/24", answer: us, scope: 24},
			{what: "IPv6 ECS in NL: WEU, scope = GeoIP network /32", name: "geo.lb.test", qtype: dns.TypeA, ecs: "2001:db8:1::/48", answer: eu, scope: 32},
			{what: "ECS unknown to GeoIP: resolver location (US), scope = source /16", name: "geo.lb.test", qtype: dns.TypeA, ecs: "192.0.0.0/16", answer: us, scope: 16},
			{what: "ECS unknown, resolver in GB", name: "geo.lb.test", qtype: dns.TypeA, ecs: "172.16.0.0/12", src: "127.0.2.9", answer: eu, scope: 12},
			{what: "ECS /0: resolver location, scope 0", name: "geo.lb.test", qtype: dns.TypeA, ecs: "0.0.0.0/0", src: "127.0.4.9", answer: asia, scope: 0},
			{what: "no ECS, resolver in US/CA", name: "geo.lb.test", qtype: dns.TypeA, answer: us},
			{what: "no ECS, resolver in GB", name: "geo.lb.test", qtype: dns.TypeA, src: "127.0.2.9", answer: eu},
			{what: "no ECS, resolver in JP", name: "geo.lb.test", qtype: dns.TypeA, src: "127.0.4.9", answer: asia},
			{what: "no ECS, resolver in CA/QC", name: "geo.lb.test", qtype: dns.TypeA, src: "127.0.9.9", answer: ca},
			{what: "no ECS, resolver unknown to GeoIP: PoP (GB, WEU)", name: "geo.lb.test", qtype: dns.TypeA, src: "127.1.0.9", answer: eu},
			{what: "AAAA for FR: the v6 origin of eu", name: "geo.lb.test", qtype: dns.TypeAAAA, ecs: "192.0.2.0/24", answer: eu6, scope: 24},
			{what: "AAAA for US: us has no v6, fallback eu", name: "geo.lb.test", qtype: dns.TypeAAAA, ecs: "127.0.0.0/24", answer: eu6, scope: 24},
		}},
		{"geo with default location_strategy (prefer_ecs proximity, mode pop)", []lbCase{
			{what: "ECS in FR ignored: the PoP's country GB decides, scope 0", name: "geodef.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: lhr, scope: 0},
			{what: "ECS in US ignored", name: "geodef.lb.test", qtype: dns.TypeA, ecs: "127.0.0.0/24", answer: lhr, scope: 0},
			{what: "resolver in US ignored", name: "geodef.lb.test", qtype: dns.TypeA, src: "127.0.0.9", answer: lhr},
		}},
		{"pop_pools keyed by server.pop.code", []lbCase{
			{what: "pop_pools[LHR] beats country_pools[FR] of the ECS, scope 0", name: "pop.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: lhr, scope: 0},
			{what: "resolver in US", name: "pop.lb.test", qtype: dns.TypeA, src: "127.0.0.9", answer: lhr},
		}},
		{"proximity (ECS preferred by default)", []lbCase{
			{what: "ECS in Tokyo: asia", name: "prox.lb.test", qtype: dns.TypeA, ecs: "127.0.4.0/24", answer: asia, scope: 24},
			{what: "ECS in New York: us (closer than Frankfurt)", name: "prox.lb.test", qtype: dns.TypeA, ecs: "127.0.1.0/24", answer: us, scope: 24},
			{what: "ECS in Paris: eu", name: "prox.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: eu, scope: 24},
			{what: "ECS in KR without coordinates: default_pools order", name: "prox.lb.test", qtype: dns.TypeA, ecs: "127.0.16.0/24", answer: us, scope: 24},
			{what: "ECS unknown: the PoP (London), scope = source", name: "prox.lb.test", qtype: dns.TypeA, ecs: "172.16.5.0/24", answer: eu, scope: 24},
			{what: "no ECS, resolver in Tokyo: mode pop, the PoP (London) decides", name: "prox.lb.test", qtype: dns.TypeA, src: "127.0.4.9", answer: eu},
		}},
		{"failover, family filtering, disabled pool and origins", []lbCase{
			{what: "A: disabled pool skipped, v6-only pool cannot serve A", name: "failover.lb.test", qtype: dns.TypeA, answer: eu, ttl: 30},
			{what: "AAAA: the v6-only pool", name: "failover.lb.test", qtype: dns.TypeAAAA, answer: "AAAA 2001:db8::6"},
			{what: "with ECS: not client-dependent, scope 0", name: "failover.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: eu, scope: 0},
			{what: "disabled origin and weight 0 left out", name: "origins.lb.test", qtype: dns.TypeA, answer: "A 198.51.100.62"},
			{what: "pool of weight-0 origins skipped", name: "zerow.lb.test", qtype: dns.TypeA, answer: asia},
			{what: "v6-only pool, fallback eu answers A", name: "fbfam.lb.test", qtype: dns.TypeA, answer: eu},
			{what: "equal weights: every origin", name: "multi.lb.test", qtype: dns.TypeA, answer: multi},
			{what: "AAAA of a v4-only pool with no fallback: NODATA with SOA", name: "multi.lb.test", qtype: dns.TypeAAAA, answer: "", soa: true},
		}},
		{"fallback (ruling 6) and nothing to answer (ruling 7)", []lbCase{
			{what: "every pool down: fallback_pool with health ignored, LB TTL", name: "fb.lb.test", qtype: dns.TypeA, answer: "A 127.0.0.52", ttl: 45},
			{what: "fallback with ECS: scope 0", name: "fb.lb.test", qtype: dns.TypeA, ecs: "127.0.2.0/24", answer: "A 127.0.0.52", ttl: 45, scope: 0},
			{what: "no fallback_pool: the last default pool", name: "fblast.lb.test", qtype: dns.TypeA, answer: "A 127.0.0.52", ttl: 30},
			{what: "minimum_origins 2 with one origin up: pool unhealthy, next pool", name: "min.lb.test", qtype: dns.TypeA, answer: asia},
			{what: "degraded pool (one of two up) still serves, with its healthy origin only", name: "degraded.lb.test", qtype: dns.TypeA, answer: "A 127.0.0.53"},
			{what: "fallback with every origin disabled: NODATA with SOA", name: "nodata.lb.test", qtype: dns.TypeA, answer: "", soa: true},
			{what: "NODATA with ECS carries ECS, scope 0", name: "nodata.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: "", soa: true, scope: 0},
		}},
		{"hostname origins (ruling 1)", []lbCase{
			{what: "CNAME followed in zone", name: "cname.lb.test", qtype: dns.TypeA, answer: "A 192.0.2.77 | CNAME target.lb.test.", extra: "(none)"},
			{what: "CNAME query: the CNAME only", name: "cname.lb.test", qtype: dns.TypeCNAME, answer: "CNAME target.lb.test."},
			{what: "mixed pool, A: the IP origin", name: "mixed.lb.test", qtype: dns.TypeA, answer: "A 198.51.100.40"},
			{what: "mixed pool, AAAA: no v6 IP, the hostname (target has no AAAA)", name: "mixed.lb.test", qtype: dns.TypeAAAA, answer: "CNAME target.lb.test.", soa: true},
			{what: "CNAME query at an IP pool: NODATA", name: "multi.lb.test", qtype: dns.TypeCNAME, answer: "", soa: true},
		}},
		{"MX and SRV load balancers (ruling 5)", []lbCase{
			{what: "MX LB at the apex beats the zone MX; targets' A in additional", name: "lb.test", qtype: dns.TypeMX, answer: "MX 10 mail1.lb.test. | MX 10 mail2.lb.test.", extra: "A 192.0.2.25 | A 192.0.2.26", ttl: 30},
			{what: "A at the MX LB's name comes from the zone", name: "lb.test", qtype: dns.TypeA, answer: "A 192.0.2.1", ttl: 300},
			{what: "SRV: priority 0, weight × 100, origin port; targets' A in additional", name: "_sip._tcp.lb.test", qtype: dns.TypeSRV, answer: "SRV 0 100 5060 sip1.lb.test. | SRV 0 50 5061 sip2.lb.test.", extra: "A 192.0.2.60 | A 192.0.2.61", ttl: 30},
			{what: "SRV with ECS: scope 0", name: "_sip._tcp.lb.test", qtype: dns.TypeSRV, ecs: "192.0.2.0/24", answer: "SRV 0 100 5060 sip1.lb.test. | SRV 0 50 5061 sip2.lb.test.", scope: 0},
			{what: "A at the SRV name: zone data (none): NODATA", name: "_sip._tcp.lb.test", qtype: dns.TypeA, answer: "", soa: true},
		}},
		{"beside zone data (ruling 21), TTL (ruling 20)", []lbCase{
			{what: "exact LB name beats the zone A; TTL override 120", name: "exact.lb.test", qtype: dns.TypeA, answer: eu, ttl: 120},
			{what: "exact LB, AAAA from the LB", name: "exact.lb.test", qtype: dns.TypeAAAA, answer: eu6, ttl: 120},
			{what: "TXT at an LB name comes from the zone", name: "exact.lb.test", qtype: dns.TypeTXT, answer: `TXT "zone txt"`, ttl: 300},
			{what: "TXT with ECS: zone data, scope 0", name: "exact.lb.test", qtype: dns.TypeTXT, ecs: "192.0.2.0/24", answer: `TXT "zone txt"`, scope: 0},
			{what: "wildcard LB", name: "anything.wild.lb.test", qtype: dns.TypeA, answer: us, ttl: 30},
			{what: "wildcard LB, deeper name", name: "a.b.wild.lb.test", qtype: dns.TypeA, answer: us},
			{what: "zone data at an existing name beats the wildcard LB", name: "www.wild.lb.test", qtype: dns.TypeA, answer: "A 192.0.2.251", ttl: 300},
			{what: "wildcard LB beats the zone wildcard", name: "x.wild2.lb.test", qtype: dns.TypeA, answer: asia, ttl: 30},
			{what: "TXT from the zone wildcard beside the wildcard LB", name: "x.wild2.lb.test", qtype: dns.TypeTXT, answer: `TXT "zone wildcard"`},
			{what: "disabled LB: the zone data", name: "disabled.lb.test", qtype: dns.TypeA, answer: "A 192.0.2.240", ttl: 300},
			{what: "disabled LB with ECS: zone data, scope 0", name: "disabled.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", answer: "A 192.0.2.240", scope: 0},
			{what: "NXDOMAIN with ECS carries ECS", name: "nope.lb.test", qtype: dns.TypeA, ecs: "192.0.2.0/24", rcode: dns.RcodeNameError, answer: "", soa: true, scope: 0},
		}},
	}
	for _, g := range groups {
		t.Run(g.group, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.what, func(t *testing.T) { runLBCase(t, p, c) })
			}
		})
	}
}

// TestLBRefusedWithECS: a name outside every zone gets REFUSED, and still carries ECS back.
func TestLBRefusedWithECS(t *testing.T) {
	p := startLBServe(t)
	for _, netw := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
		r := lbQueryFrom(t, netw, addr, "", "www.elsewhere.test", dns.TypeA, lbWithECS("192.0.2.0/24"))
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("%s: rcode %s, want REFUSED", netw, dns.RcodeToString[r.Rcode])
		}
		if s := lbCheckECSEcho(t, r, "192.0.2.0/24"); s > 0 {
			t.Errorf("%s: REFUSED with scope /%d, want 0", netw, s)
		}
	}
}

// TestLBMalformedECS: RFC 7871 §7.1.1 — a malformed ECS option gets FORMERR.
func TestLBMalformedECS(t *testing.T) {
	p := startLBServe(t)
	cases := []struct {
		what string
		data []byte
	}{
		{"IPv4 source prefix 33", []byte{0, 1, 33, 0, 192, 0, 2, 0, 0}},
		{"IPv6 source prefix 129", append([]byte{0, 2, 129, 0}, make([]byte, 17)...)},
		{"address longer than the source prefix needs", []byte{0, 1, 16, 0, 192, 0, 2}},
		{"bits set beyond the source prefix", []byte{0, 1, 25, 0, 192, 0, 2, 0xff}},
		{"non-zero scope in a query", []byte{0, 1, 24, 8, 192, 0, 2}},
		{"unknown family", []byte{0, 3, 8, 0, 1}},
		{"truncated option", []byte{0, 1}},
	}
	for _, c := range cases {
		for _, netw := range []string{"udp", "tcp"} {
			addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
			r := lbQueryFrom(t, netw, addr, "", "geo.lb.test", dns.TypeA, lbWithRawECS(c.data))
			if r.Rcode != dns.RcodeFormatError || len(r.Answer) != 0 {
				t.Errorf("%s, %s: rcode %s with %d answers, want FORMERR and none", c.what, netw, dns.RcodeToString[r.Rcode], len(r.Answer))
			}
		}
	}
	// A well-formed option right after still works (the server is not disturbed).
	r := lbQueryFrom(t, "udp", p.DNS, "", "geo.lb.test", dns.TypeA, lbWithECS("192.0.2.0/24"))
	if r.Rcode != dns.RcodeSuccess || lbRdata(r.Answer) != "A 198.51.100.2" {
		t.Errorf("after the malformed ones: %v", r)
	}
}

// TestLBRandomWeights: random steering by pool weight, and one origin drawn by weight. The
// bounds are 6 standard deviations wide: a false failure has a probability below 1e-8.
func TestLBRandomWeights(t *testing.T) {
	p := startLBServe(t)
	const n = 400
	count := func(name string) map[string]int {
		got := map[string]int{}
		for i := 0; i < n; i++ {
			netw, addr := "udp", p.DNS
			if i%4 == 0 {
				netw, addr = "tcp", p.TCP
			}
			r := lbQueryFrom(t, netw, addr, "", name, dns.TypeA, lbWithECS("192.0.2.0/24"))
			if len(r.Answer) != 1 {
				t.Fatalf("%s: %d answers, want exactly 1\n%v", name, len(r.Answer), r)
			}
			if s := lbCheckECSEcho(t, r, "192.0.2.0/24"); s != 0 {
				t.Fatalf("%s: scope /%d, want 0 (random does not depend on the client)", name, s)
			}
			if r.Answer[0].Header().Ttl != 30 {
				t.Fatalf("%s: TTL %d, want 30", name, r.Answer[0].Header().Ttl)
			}
			got[lbRdata(r.Answer)]++
		}
		return got
	}
	// pool_weights us 0.25, eu 0.75: us expected 100 of 400 (sd 8.7).
	got := count("rand.lb.test")
	if us, eu := got["A 198.51.100.1"], got["A 198.51.100.2"]; us+eu != n || us < 48 || us > 152 {
		t.Errorf("random steering: %v, want about 100 us and 300 eu", got)
	}
	// origins 0.2 / 0.8: small expected 80 of 400 (sd 8).
	got = count("wrand.lb.test")
	if small, large := got["A 198.51.100.10"], got["A 198.51.100.11"]; small+large != n || small < 32 || small > 128 {
		t.Errorf("origin weights: %v, want about 80 small and 320 large", got)
	}
	t.Logf("random steering 0.25/0.75 and origins 0.2/0.8 over %d queries each: ok", n)
}

// TestLBHashAndCookie: origin_steering hash and session_affinity ip_cookie keep one client on
// one origin; the ECS scope is the client key's prefix (ruling 11); different clients spread.
func TestLBHashAndCookie(t *testing.T) {
	p := startLBServe(t)
	for _, name := range []string{"hash.lb.test", "cookie.lb.test"} {
		seen := map[string]int{}
		for i := 0; i < 48; i++ {
			ecs := fmt.Sprintf("10.%d.%d.0/24", i/8, i*29%256)
			var first string
			for k := 0; k < 4; k++ {
				netw, addr := "udp", p.DNS
				if k%2 == 1 {
					netw, addr = "tcp", p.TCP
				}
				r := lbQueryFrom(t, netw, addr, "", name, dns.TypeA, lbWithECS(ecs))
				if len(r.Answer) != 1 {
					t.Fatalf("%s ecs %s: %d answers, want exactly 1\n%v", name, ecs, len(r.Answer), r)
				}
				if s := lbCheckECSEcho(t, r, ecs); s != 24 {
					t.Errorf("%s ecs %s: scope /%d, want /24 (the client key's prefix)", name, ecs, s)
				}
				a := lbRdata(r.Answer)
				if k == 0 {
					first = a
					seen[a]++
				} else if a != first {
					t.Errorf("%s ecs %s: answer moved from %s to %s", name, ecs, first, a)
				}
			}
		}
		want := 2
		if name == "cookie.lb.test" {
			want = 3
		}
		if len(seen) != want {
			t.Errorf("%s: 48 clients reached %v, want %d distinct origins", name, seen, want)
		}
		// Without ECS the key is the resolver's /24: stable per resolver, no ECS in the reply.
		a := lbRdata(lbQueryFrom(t, "udp", p.DNS, "127.0.3.7", name, dns.TypeA).Answer)
		for k := 0; k < 5; k++ {
			r := lbQueryFrom(t, "tcp", p.TCP, fmt.Sprintf("127.0.3.%d", 8+k), name, dns.TypeA)
			if got := lbRdata(r.Answer); got != a || lbECSOf(r) != nil {
				t.Errorf("%s from 127.0.3.%d: %s (ECS %v), want %s as for 127.0.3.7 (same /24), no ECS", name, 8+k, got, lbECSOf(r), a)
			}
		}
		t.Logf("%s: 48 ECS clients spread over %v", name, seen)
	}
}

const moreZone = `$ORIGIN more.test.
$TTL 300
@   IN SOA ns1 hostmaster 1 3600 600 86400 60
@   IN NS  ns1
ns1 IN A   127.0.0.1
`

// moreConfig: %[1]s is the GeoIP database, %[2]s the big pool's origins, %[3]s the pool of
// switch.more.test (changed by a reload).
const moreConfig = `server:
  listen: ["127.0.0.1:0"]
  pop: { code: LHR, region: WEU, country: GB, latitude: 51.47, longitude: -0.45 }
geoip:
  city: %[1]s
zones:
  - name: more.test
    file: more.test.zone
pools:
  - name: big
    origins:
%[2]s
  - name: hashpool
    origin_steering: { policy: hash }
    origins:
      - { name: h1, address: 198.51.100.20, weight: 0.5 }
      - { name: h2, address: 198.51.100.21, weight: 1 }
  - name: multi
    origins:
      - { name: m1, address: 198.51.100.30 }
      - { name: m2, address: "2001:db8::31" }
      - { name: m3, address: "2001:db8::32" }
  - { name: outside, origins: [ { name: o1, address: www.example.net } ] }
  - { name: one, origins: [ { name: one-1, address: 198.51.100.91 } ] }
  - { name: near, latitude: 51.5, longitude: 0, origins: [ { name: near-1, address: 198.51.100.93 } ] }
  - { name: far, latitude: 35.68, longitude: 139.69, origins: [ { name: far-1, address: 198.51.100.94 } ] }
  - name: shedpool
    load_shedding: { default_percent: 100, default_policy: random }
    origins: [ { name: shed-1, address: 198.51.100.95 } ]
  - { name: two, origins: [ { name: two-1, address: 198.51.100.92 } ] }
load_balancers:
  - { name: big.more.test, default_pools: [big] }
  - name: geohash.more.test
    location_strategy: { prefer_ecs: always, mode: resolver_ip }
    country_pools: { FR: [hashpool] }
    default_pools: [hashpool]
  - { name: cookie.more.test, session_affinity: ip_cookie, default_pools: [multi] }
  - { name: outside.more.test, default_pools: [outside] }
  - { name: "*.wild.more.test", default_pools: [one] }
  - { name: switch.more.test, default_pools: [%[3]s] }
  - name: geores.more.test
    location_strategy: { mode: resolver_ip }
    country_pools: { FR: [two], US: [one] }
    default_pools: [two]
  - name: proxnever.more.test
    steering_policy: proximity
    location_strategy: { prefer_ecs: never }
    default_pools: [near, far]
  - { name: shed.more.test, steering_policy: "off", default_pools: [shedpool, two] }
  - name: rules.more.test
    default_pools: [one]
    rules:
      - name: france
        condition: 'ip.src.country eq "FR"'
        overrides: { default_pools: [two] }
`

// TestLBMore: truncation of a large LB answer, ANY, the question echoed as sent, the ECS
// scope as the maximum of what the answer used, IPv6 client keys, a CNAME out of the zone,
// the wildcard LB at its own name, and a reload that changes an LB.
func TestLBMore(t *testing.T) {
	dir := t.TempDir()
	var big []string
	for i := 1; i <= 60; i++ {
		big = append(big, fmt.Sprintf("      - { name: big-%d, address: 198.18.0.%d }", i, i))
	}
	db := geotest.Default(t)
	cfg := func(pool string) string { return fmt.Sprintf(moreConfig, db, strings.Join(big, "\n"), pool) }
	writeFiles(t, dir, map[string]string{"lbdns.yaml": cfg("one"), "more.test.zone": moreZone})
	p := startServe(t, filepath.Join(dir, "lbdns.yaml"))

	// 60 A records do not fit 512 bytes: TC over UDP without EDNS, all of them with EDNS 1232
	// or over TCP.
	r := lbQueryFrom(t, "udp", p.DNS, "", "big.more.test", dns.TypeA)
	if !r.Truncated {
		t.Errorf("60 A records over UDP without EDNS: TC not set (%d answers)", len(r.Answer))
	}
	r = lbQueryFrom(t, "udp", p.DNS, "", "big.more.test", dns.TypeA, lbWithECS("192.0.2.0/24"))
	if r.Truncated || len(r.Answer) != 60 {
		t.Errorf("EDNS 1232: TC %v, %d answers, want 60", r.Truncated, len(r.Answer))
	}
	lbCheckECSEcho(t, r, "192.0.2.0/24")
	small := func(m *dns.Msg) { m.IsEdns0().SetUDPSize(512) }
	r = lbQueryFrom(t, "udp", p.DNS, "", "big.more.test", dns.TypeA, lbWithECS("192.0.2.0/24"), small)
	if !r.Truncated {
		t.Errorf("EDNS 512: TC not set (%d answers)", len(r.Answer))
	}
	if s := lbCheckECSEcho(t, r, "192.0.2.0/24"); s != 0 {
		t.Errorf("truncated reply: scope /%d, want 0", s)
	}
	r = lbQueryFrom(t, "tcp", p.TCP, "", "big.more.test", dns.TypeA)
	if r.Truncated || len(r.Answer) != 60 {
		t.Errorf("TCP: TC %v, %d answers, want 60", r.Truncated, len(r.Answer))
	}

	// ANY at an LB name: a minimal answer from the LB (RFC 8482).
	for _, netw := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
		r = lbQueryFrom(t, netw, addr, "", "switch.more.test", dns.TypeANY)
		if r.Rcode != dns.RcodeSuccess || lbRdata(r.Answer) != "A 198.51.100.91" {
			t.Errorf("%s ANY at an LB: %v", netw, r)
		}
		// The question comes back exactly as sent (0x20 case).
		r = lbQueryFrom(t, netw, addr, "", "SwItCh.More.TEST", dns.TypeA)
		if len(r.Question) != 1 || r.Question[0].Name != "SwItCh.More.TEST." || lbRdata(r.Answer) != "A 198.51.100.91" {
			t.Errorf("%s mixed case: question %v answer %v", netw, r.Question, r.Answer)
		}
		if len(r.Answer) == 1 && !strings.EqualFold(r.Answer[0].Header().Name, "switch.more.test.") {
			t.Errorf("%s mixed case: owner %s", netw, r.Answer[0].Header().Name)
		}
	}

	// Geo location from ECS (/24 network) plus a hash of the client key: the scope is the
	// longer of the two (ruling 11).
	for _, c := range []struct {
		ecs   string
		scope int
	}{
		{"192.0.2.0/24", 24},
		{"192.0.2.128/25", 25},
		{"192.0.2.77/32", 32},
		{"192.0.0.0/16", 16}, // unknown to GeoIP: the source prefix
	} {
		for _, netw := range []string{"udp", "tcp"} {
			addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
			r = lbQueryFrom(t, netw, addr, "", "geohash.more.test", dns.TypeA, lbWithECS(c.ecs))
			if len(r.Answer) != 1 {
				t.Errorf("%s geohash %s: %v", netw, c.ecs, r)
			}
			if s := lbCheckECSEcho(t, r, c.ecs); s != c.scope {
				t.Errorf("%s geohash ECS %s: scope /%d, want /%d", netw, c.ecs, s, c.scope)
			}
		}
	}

	// ip_cookie with IPv6 ECS: the client key is the ECS prefix; AAAA and A both single.
	for _, c := range []struct {
		ecs   string
		qtype uint16
		scope int
	}{
		{"2001:db8:aa::/56", dns.TypeAAAA, 56},
		{"2001:db8:aa::/48", dns.TypeAAAA, 48},
		{"2001:db8:aa::/56", dns.TypeA, 56},
	} {
		r = lbQueryFrom(t, "udp", p.DNS, "", "cookie.more.test", c.qtype, lbWithECS(c.ecs))
		if len(r.Answer) != 1 {
			t.Errorf("cookie %s %s: %v", c.ecs, dns.TypeToString[c.qtype], r)
		}
		if s := lbCheckECSEcho(t, r, c.ecs); s != c.scope {
			t.Errorf("cookie %s %s: scope /%d, want /%d", c.ecs, dns.TypeToString[c.qtype], s, c.scope)
		}
	}

	// A hostname origin outside the served zones: the CNAME alone.
	r = lbQueryFrom(t, "udp", p.DNS, "", "outside.more.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || lbRdata(r.Answer) != "CNAME www.example.net." {
		t.Errorf("CNAME out of zone: %v", r)
	}

	// The wildcard LB at its own owner name.
	r = lbQueryFrom(t, "udp", p.DNS, "", "*.wild.more.test", dns.TypeA)
	if lbRdata(r.Answer) != "A 198.51.100.91" {
		t.Errorf("*.wild.more.test: %v", r)
	}
	// The empty non-terminal above the wildcard: NODATA.
	r = lbQueryFrom(t, "udp", p.DNS, "", "wild.more.test", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("wild.more.test (empty non-terminal): %v", r)
	}

	// Location strategies that ignore ECS: the answer does not depend on it, scope 0.
	for _, c := range []struct {
		name, ecs, src, answer string
		scope                  int
	}{
		{"geores.more.test", "192.0.2.0/24", "127.0.0.9", "A 198.51.100.91", 0}, // mode resolver_ip, prefer_ecs proximity: the resolver (US) decides
		{"geores.more.test", "127.0.0.0/24", "127.0.3.9", "A 198.51.100.92", 0}, // resolver in DE: no key, default_pools
		{"proxnever.more.test", "127.0.4.0/24", "", "A 198.51.100.93", 0},       // prefer_ecs never, mode pop: London is nearest to near
		{"shed.more.test", "192.0.2.0/24", "", "A 198.51.100.92", 0},            // 100 % shed to the next pool
		{"rules.more.test", "192.0.2.0/24", "127.0.0.9", "A 198.51.100.92", 24}, // rule on ip.src.country from ECS (FR)
		{"rules.more.test", "127.0.0.0/24", "127.0.0.9", "A 198.51.100.91", 24}, // ECS in US: the rule does not match
		{"rules.more.test", "", "127.0.0.9", "A 198.51.100.91", -1},             // no ECS, resolver in US
	} {
		for _, netw := range []string{"udp", "tcp"} {
			addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
			var opts []func(*dns.Msg)
			if c.ecs != "" {
				opts = append(opts, lbWithECS(c.ecs))
			}
			r = lbQueryFrom(t, netw, addr, c.src, c.name, dns.TypeA, opts...)
			if a := lbRdata(r.Answer); a != c.answer {
				t.Errorf("%s %s ecs %s from %s: %s, want %s", netw, c.name, c.ecs, c.src, a, c.answer)
			}
			if c.ecs != "" {
				if s := lbCheckECSEcho(t, r, c.ecs); s != c.scope {
					t.Errorf("%s %s ecs %s: scope /%d, want /%d", netw, c.name, c.ecs, s, c.scope)
				}
			}
		}
	}

	// SIGHUP with a changed LB: the new pool answers.
	writeFiles(t, dir, map[string]string{"lbdns.yaml": cfg("two")})
	n := p.logCount()
	p.signal(syscall.SIGHUP)
	p.waitLog("reloaded", n, 5*time.Second)
	if a := lbRdata(lbQueryFrom(t, "udp", p.DNS, "", "switch.more.test", dns.TypeA).Answer); a != "A 198.51.100.92" {
		t.Errorf("after reload: %s, want A 198.51.100.92", a)
	}
}

const chainZone = `$ORIGIN chain.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   127.0.0.1
mxb  IN A   192.0.2.26
mxa  IN A   192.0.2.99 ; beaten by the LB mxa.chain.test (ruling 21): never served
geomx IN MX 10 geoecs   ; a zone MX whose target is an ECS-dependent LB
`

// chainConfig: %[1]s is the GeoIP database, %[2]s the enabled flag of origin h3.
const chainConfig = `server:
  listen: ["127.0.0.1:0"]
  pop: { code: LHR, region: WEU, country: GB, latitude: 51.47, longitude: -0.45 }
geoip:
  city: %[1]s
zones:
  - name: chain.test
    file: chain.test.zone
pools:
  - { name: one, origins: [ { name: one-1, address: 198.51.100.91 } ] }
  - { name: two, origins: [ { name: two-1, address: 198.51.100.92 } ] }
  - { name: togeo, origins: [ { name: g, address: geoecs.chain.test } ] }
  - name: mxpool
    origins:
      - { name: mxa, address: mxa.chain.test, port: 25 }
      - { name: mxb, address: mxb.chain.test, port: 25 }
  - { name: srvpool, origins: [ { name: srva, address: mxa.chain.test, port: 5060 } ] }
  - name: hash3
    origin_steering: { policy: hash }
    origins:
      - { name: h1, address: 198.51.100.21, weight: 0.3 }
      - { name: h2, address: 198.51.100.22, weight: 0.5 }
      - { name: h3, address: 198.51.100.23, weight: 0.7, enabled: %[2]s }
load_balancers:
  - name: geoecs.chain.test
    location_strategy: { prefer_ecs: always, mode: resolver_ip }
    country_pools: { FR: [two] }
    default_pools: [one]
  - { name: cname.chain.test, default_pools: [togeo] }
  - { name: mxa.chain.test, default_pools: [one] }
  - { name: mail.chain.test, default_pools: [mxpool] }
  - { name: _x._tcp.chain.test, default_pools: [srvpool] }
  - { name: hash.chain.test, default_pools: [hash3] }
`

// TestLBChains: a hostname origin whose target is another (ECS-dependent) LB, MX and SRV
// targets that are LB names (their A in the additional section comes from the LB), and hash
// steering keeping every client whose origin stays when another origin is disabled (ruling 2).
func TestLBChains(t *testing.T) {
	dir := t.TempDir()
	db := geotest.Default(t)
	writeFiles(t, dir, map[string]string{"lbdns.yaml": fmt.Sprintf(chainConfig, db, "true"), "chain.test.zone": chainZone})
	p := startServe(t, filepath.Join(dir, "lbdns.yaml"))

	for _, netw := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
		for _, c := range []struct{ ecs, answer string }{
			{"192.0.2.0/24", "A 198.51.100.92 | CNAME geoecs.chain.test."},
			{"127.0.0.0/24", "A 198.51.100.91 | CNAME geoecs.chain.test."},
		} {
			r := lbQueryFrom(t, netw, addr, "", "cname.chain.test", dns.TypeA, lbWithECS(c.ecs))
			if a := lbRdata(r.Answer); a != c.answer {
				t.Errorf("%s CNAME into a geo LB, ECS %s: %s, want %s", netw, c.ecs, a, c.answer)
			}
			if s := lbCheckECSEcho(t, r, c.ecs); s != 24 {
				t.Errorf("%s CNAME into a geo LB, ECS %s: scope /%d, want /24 (the inner LB used ECS)", netw, c.ecs, s)
			}
		}
	}

	// MX and SRV targets that are LB names: the zone's A at such a name is beaten by the LB
	// (ruling 21), so it must never appear in the additional section.
	nonOPT := func(rrs []dns.RR) []dns.RR {
		var out []dns.RR
		for _, rr := range rrs {
			if rr.Header().Rrtype != dns.TypeOPT {
				out = append(out, rr)
			}
		}
		return out
	}
	for _, netw := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
		r := lbQueryFrom(t, netw, addr, "", "mail.chain.test", dns.TypeMX)
		if a := lbRdata(r.Answer); a != "MX 10 mxa.chain.test. | MX 10 mxb.chain.test." {
			t.Errorf("%s MX: %s", netw, a)
		}
		if x := lbRdata(nonOPT(r.Extra)); strings.Contains(x, "192.0.2.99") || !strings.Contains(x, "A 192.0.2.26") {
			t.Errorf("%s MX additional: %s, want mxb's zone A and never the beaten zone A of mxa", netw, x)
		}
		r = lbQueryFrom(t, netw, addr, "", "_x._tcp.chain.test", dns.TypeSRV)
		if a, x := lbRdata(r.Answer), lbRdata(nonOPT(r.Extra)); a != "SRV 0 100 5060 mxa.chain.test." || strings.Contains(x, "192.0.2.99") {
			t.Errorf("%s SRV to an LB target: answer %s additional %s", netw, a, x)
		}
		if a := lbRdata(lbQueryFrom(t, netw, addr, "", "mxa.chain.test", dns.TypeA).Answer); a != "A 198.51.100.91" {
			t.Errorf("%s mxa.chain.test A: %s, want the LB's", netw, a)
		}
	}
	t.Run("additional A of MX/SRV targets that are LB names", func(t *testing.T) {
		for _, netw := range []string{"udp", "tcp"} {
			addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
			r := lbQueryFrom(t, netw, addr, "", "mail.chain.test", dns.TypeMX)
			if x := lbRdata(nonOPT(r.Extra)); x != "A 192.0.2.26 | A 198.51.100.91" {
				t.Errorf("%s MX additional: %s, want the zone's A of mxb and the LB's A of mxa", netw, x)
			}
			r = lbQueryFrom(t, netw, addr, "", "_x._tcp.chain.test", dns.TypeSRV)
			if x := lbRdata(nonOPT(r.Extra)); x != "A 198.51.100.91" {
				t.Errorf("%s SRV additional: %s, want the LB's A of mxa", netw, x)
			}
			// A zone MX whose target's A depends on the client: the additional A follows the
			// ECS location (no static answer cached across clients) and the reply's ECS scope
			// covers it (ruling 11).
			for _, c := range []struct{ ecs, extra string }{
				{"192.0.2.0/24", "A 198.51.100.92"},
				{"127.0.0.0/24", "A 198.51.100.91"},
				{"192.0.2.0/24", "A 198.51.100.92"},
			} {
				r = lbQueryFrom(t, netw, addr, "", "geomx.chain.test", dns.TypeMX, lbWithECS(c.ecs))
				if a, x := lbRdata(r.Answer), lbRdata(nonOPT(r.Extra)); a != "MX 10 geoecs.chain.test." || x != c.extra {
					t.Errorf("%s geomx MX, ECS %s: answer %s additional %s, want additional %s", netw, c.ecs, a, x, c.extra)
				}
				if s := lbCheckECSEcho(t, r, c.ecs); s != 24 {
					t.Errorf("%s geomx MX, ECS %s: scope /%d, want /24 (the additional A used ECS)", netw, c.ecs, s)
				}
			}
		}
	})

	// Hash: record each of 64 clients' origin, disable h3, reload: clients of h1 and h2 stay.
	clients := make([]string, 64)
	before := map[string]string{}
	for i := range clients {
		clients[i] = fmt.Sprintf("10.%d.%d.0/24", i%7, i*37%256)
		before[clients[i]] = lbRdata(lbQueryFrom(t, "udp", p.DNS, "", "hash.chain.test", dns.TypeA, lbWithECS(clients[i])).Answer)
	}
	writeFiles(t, dir, map[string]string{"lbdns.yaml": fmt.Sprintf(chainConfig, db, "false")})
	n := p.logCount()
	p.signal(syscall.SIGHUP)
	p.waitLog("reloaded", n, 5*time.Second)
	moved, onH3 := 0, 0
	for _, c := range clients {
		after := lbRdata(lbQueryFrom(t, "udp", p.DNS, "", "hash.chain.test", dns.TypeA, lbWithECS(c)).Answer)
		if before[c] == "A 198.51.100.23" {
			onH3++
			if after == "A 198.51.100.23" {
				t.Errorf("client %s still on the disabled h3", c)
			}
			continue
		}
		if after != before[c] {
			moved++
			t.Errorf("client %s moved from %s to %s though its origin stays", c, before[c], after)
		}
	}
	if onH3 == 0 || onH3 == len(clients) {
		t.Errorf("%d of %d clients on h3 before: the test needs some on each side", onH3, len(clients))
	}
	t.Logf("hash: %d of %d clients were on h3 and moved; %d others moved", onH3, len(clients), moved)
}

// TestLBECSMappedScope: an ECS option of family 2 carrying an IPv4-mapped prefix. The GeoIP
// network that decides is ::ffff:192.0.2.0/120 in the family of the option (the IPv4 /24
// aliased into the IPv6 tree), so the scope must be 120: a scope of 24 in family 2 would let
// a resolver reuse the answer for all of ::/24 (RFC 7871 §7.2.1, ruling 11).
func TestLBECSMappedScope(t *testing.T) {
	p := startLBServe(t)
	for _, netw := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
		r := lbQueryFrom(t, netw, addr, "", "geo.lb.test", dns.TypeA, lbWithECS("::ffff:192.0.2.0/120"))
		if a := lbRdata(r.Answer); a != "A 198.51.100.2" {
			t.Errorf("%s: %s, want eu (FR)", netw, a)
		}
		if e := lbECSOf(r); e == nil || e.Family != 2 || e.SourceScope != 120 {
			t.Errorf("%s: ECS %v, want family 2 with scope /120", netw, e)
		}
	}
}

// TestLBAny: ANY at load-balanced names gets a minimal answer (RFC 8482, ruling 22): one
// RRset, from the LB where it answers, never a denial where the name has data.
func TestLBAny(t *testing.T) {
	p := startLBServe(t)
	for _, netw := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
		for _, c := range []struct{ name, answer string }{
			{"exact.lb.test", "A 198.51.100.2"}, // the LB's A beats the zone's A and TXT
			{"x.wild.lb.test", "A 198.51.100.1"},
			{"cname.lb.test", "CNAME target.lb.test."},
			{"lb.test", "MX 10 mail1.lb.test. | MX 10 mail2.lb.test."}, // the MX LB's own type stands for the name
		} {
			r := lbQueryFrom(t, netw, addr, "", c.name, dns.TypeANY, lbWithECS("192.0.2.0/24"))
			if r.Rcode != dns.RcodeSuccess || lbRdata(r.Answer) != c.answer {
				t.Errorf("%s ANY %s: %s %s, want %s", netw, c.name, dns.RcodeToString[r.Rcode], lbRdata(r.Answer), c.answer)
			}
			lbCheckECSEcho(t, r, "192.0.2.0/24")
		}
	}
	t.Run("SRV LB without zone data", func(t *testing.T) {
		// Was NODATA: pkg/zone turned ANY into A before calling Dynamic (fixed in bb0c69b).
		for _, netw := range []string{"udp", "tcp"} {
			addr := map[string]string{"udp": p.DNS, "tcp": p.TCP}[netw]
			r := lbQueryFrom(t, netw, addr, "", "_sip._tcp.lb.test", dns.TypeANY)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
				t.Errorf("%s ANY _sip._tcp.lb.test: %s with %d answers, want the SRV records", netw, dns.RcodeToString[r.Rcode], len(r.Answer))
			}
		}
	})
}
