package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/health"

	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/steer"
	"github.com/lbdns/lbdns/pkg/zone"
)

// ExplainOptions are the inputs of `lbdns explain` (CONTRACT §1).
type ExplainOptions struct {
	Config     string
	HealthFile string // JSON health file; "" = every origin healthy
	Seed       uint64
	Client     string // the resolver's address
	ECS        string // EDNS Client Subnet (CIDR), optional
	Name, Type string
}

// HealthFile is the --health file of explain:
//
//	{"pools": {"primary": {"origins": {"primary-1": "unhealthy", "192.0.2.7": "unknown"}, "rtt_ms": 25}}}
//
// Pools are named by name or id, origins by name or address; states are healthy, unhealthy or
// unknown. Origins not listed are healthy; pools without rtt_ms have no RTT.
type HealthFile struct {
	Pools map[string]struct {
		Origins map[string]string `json:"origins"`
		RTTms   *float64          `json:"rtt_ms"`
	} `json:"pools"`
}

type fileHealth struct {
	origins [][]steer.State
	rtt     []float64
	hasRTT  []bool
}

func (h *fileHealth) Origin(p, o int) steer.State { return h.origins[p][o] }
func (h *fileHealth) PoolRTT(p int) (float64, bool) {
	return h.rtt[p], h.hasRTT[p]
}

func loadHealthFile(path string, set *steer.Set) (*fileHealth, error) {
	h := &fileHealth{origins: make([][]steer.State, len(set.Pools)), rtt: make([]float64, len(set.Pools)), hasRTT: make([]bool, len(set.Pools))}
	for p := range set.Pools {
		h.origins[p] = make([]steer.State, len(set.Pools[p].Origins))
		for o := range h.origins[p] {
			h.origins[p][o] = steer.Up
		}
	}
	if path == "" {
		return h, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--health: %w", err)
	}
	var f HealthFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("--health %s: %w", path, err)
	}
	for key, ph := range f.Pools {
		p := set.Pool(key)
		if p < 0 {
			for i := range set.Pools {
				if set.Pools[i].Name == key {
					p = i
				}
			}
		}
		if p < 0 {
			return nil, fmt.Errorf("--health %s: pools.%s: no such pool", path, key)
		}
		if ph.RTTms != nil {
			h.rtt[p], h.hasRTT[p] = *ph.RTTms, true
		}
		for okey, state := range ph.Origins {
			var st steer.State
			switch strings.ToLower(state) {
			case "healthy", "up":
				st = steer.Up
			case "unhealthy", "down":
				st = steer.Down
			case "unknown":
				st = steer.Unknown
			default:
				return nil, fmt.Errorf("--health %s: pools.%s.origins.%s: %q is not healthy, unhealthy or unknown", path, key, okey, state)
			}
			found := false
			for o := range set.Pools[p].Origins {
				org := &set.Pools[p].Origins[o]
				if org.Name == okey || org.Address() == okey || strings.TrimSuffix(org.Address(), ".") == okey {
					h.origins[p][o] = st
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("--health %s: pools.%s.origins.%s: no such origin", path, key, okey)
			}
		}
	}
	return h, nil
}

// Explain prints how lbdns answers o.Name/o.Type for the given client: the steering trace of
// every load balancer the answer passes through, then the answer as the server would send it.
// It uses the config file's objects (not those created through the API) and serves nothing.
func Explain(w io.Writer, o ExplainOptions) error {
	qtype, ok := dns.StringToType[strings.ToUpper(o.Type)]
	if !ok {
		return fmt.Errorf("unknown query type %q", o.Type)
	}
	src, err := netip.ParseAddr(o.Client)
	if err != nil {
		return fmt.Errorf("--client: %q is not an IP address", o.Client)
	}
	q := steer.Query{Source: src.Unmap(), Type: qtype}
	if o.ECS != "" {
		pfx, err := netip.ParsePrefix(o.ECS)
		if err != nil {
			return fmt.Errorf("--ecs: %q is not a CIDR prefix", o.ECS)
		}
		q.ECS, q.HasECS = pfx.Masked(), true
	}
	l, pe := load(o.Config)
	if l == nil {
		return pe
	}
	defer l.close()
	cat := l.cfg.Catalog()
	zones, notes := explainZones(l)
	s, err := snapshot.Build(snapshot.Input{Zones: zones, Catalog: cat, Geo: l.geo, PoP: l.cfg.Server.PoP, Regions: l.regionsFunc()})
	if err != nil {
		return err
	}
	var h steer.Health
	healthFrom := o.HealthFile
	if o.HealthFile == "" && l.cfg.DataDir != "" {
		// No --health: the prober's last known state in data_dir, if there is one.
		if _, err := os.Stat(filepath.Join(l.cfg.DataDir, health.StateFile)); err == nil {
			p := health.New(health.Options{Log: zerolog.Nop(), DataDir: l.cfg.DataDir})
			p.Update(cat)
			h = snapshot.NewDenseHealth(s.Steer, p.View())
			healthFrom = filepath.Join(l.cfg.DataDir, health.StateFile) + " (the prober's last known state)"
		}
	}
	if h == nil {
		fh, err := loadHealthFile(o.HealthFile, s.Steer)
		if err != nil {
			return err
		}
		h = fh
	}
	name := strings.ToLower(dns.Fqdn(o.Name))
	fmt.Fprintf(w, "query: %s %s from %s", name, dns.TypeToString[qtype], src)
	if q.HasECS {
		fmt.Fprintf(w, " with ECS %s", q.ECS)
	}
	fmt.Fprintf(w, " (seed %d, health from %s)\n", o.Seed, healthSource(healthFrom))
	if s.Geo != nil {
		for _, fi := range s.Geo.Info() {
			fmt.Fprintf(w, "geoip: %s database %s (%s, IPv%d, built %s)\n", fi.Kind, fi.Path, fi.Type, fi.IPVersion, fi.Built.Format("2006-01-02"))
		}
	} else {
		fmt.Fprintln(w, "geoip: none configured (every lookup fails; the PoP location is used, ruling 10)")
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	z := s.Zones.Find(name)
	if z == nil {
		fmt.Fprintf(w, "%s is outside every served zone: REFUSED\n", name)
		return nil
	}
	var env steer.Env
	env.Health = h
	if s.Geo != nil {
		env.Geo = s.Geo
	}
	env.Rand = rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)
	d := &explainDyn{w: w, set: s.Steer, env: &env, q: q}
	res := z.Lookup(name, qtype, d)
	if d.calls == 0 && z.Available() {
		fmt.Fprintf(w, "%s is not a load-balanced name (or the LB does not own %s): zone data answers\n", name, dns.TypeToString[qtype])
	}
	fmt.Fprintf(w, "\nresult: %s, rcode %s, AA %v", res.Kind, dns.RcodeToString[res.Rcode], res.AA)
	if q.HasECS {
		fmt.Fprintf(w, ", ECS scope /%d", d.scope)
	}
	fmt.Fprintln(w)
	for _, sec := range []struct {
		name string
		rrs  []dns.RR
	}{{"answer", res.Answer}, {"authority", res.Ns}, {"additional", res.Extra}} {
		if len(sec.rrs) == 0 {
			continue
		}
		fmt.Fprintf(w, ";; %s\n", strings.ToUpper(sec.name))
		for _, rr := range sec.rrs {
			fmt.Fprintln(w, rr.String())
		}
	}
	return nil
}

// explainZones returns the zone files' zones plus the secondary zones, as the server serves
// them: the last good copy in data_dir/secondary when a server kept one, else a zone without
// data (SERVFAIL, ruling 40). notes say which, for the secondary zones.
func explainZones(l *loaded) ([]*zone.Zone, []string) {
	var notes []string
	zones := l.servedZones(func(zc config.Zone) *zone.Zone {
		origin := strings.ToLower(dns.Fqdn(zc.Name))
		if l.cfg.DataDir != "" {
			p := filepath.Join(l.cfg.DataDir, "secondary", origin+"zone")
			if z, err := zone.Load(origin, p); err == nil {
				notes = append(notes, fmt.Sprintf("secondary zone %s: the last transferred copy, %s", origin, p))
				return z
			}
		}
		notes = append(notes, fmt.Sprintf("secondary zone %s: no transferred copy in data_dir: SERVFAIL until the first transfer (ruling 40)", origin))
		return nil
	})
	return zones, notes
}

func healthSource(f string) string {
	if f == "" {
		return "defaults: every origin healthy"
	}
	return f
}

// explainDyn is explain's zone.Dynamic: Decide with a trace, printed as it goes.
type explainDyn struct {
	w     io.Writer
	set   *steer.Set
	env   *steer.Env
	q     steer.Query
	calls int
	scope int
}

func (d *explainDyn) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	lb := &d.set.LBs[mark]
	if !lb.Enabled || !lb.Owns(qtype) {
		return dst, false
	}
	d.calls++
	q := d.q
	q.Name, q.Type = strings.ToLower(owner), qtype
	var dec steer.Decision
	tr := &steer.Trace{}
	d.set.Decide(mark, d.env, &q, &dec, tr)
	fmt.Fprintln(d.w)
	_, _ = tr.WriteTo(d.w)
	if dec.Scope > d.scope {
		d.scope = dec.Scope
	}
	return appendDecision(dst, d.set, &dec, owner), true
}

// appendDecision turns a decision into records (as pkg/server does on the query path).
func appendDecision(dst []dns.RR, set *steer.Set, dec *steer.Decision, owner string) []dns.RR {
	if dec.Kind == steer.None || dec.Pool < 0 {
		return dst
	}
	pool := &set.Pools[dec.Pool]
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: dec.TTL}
	}
	for i, oi := range dec.Origins {
		org := &pool.Origins[oi]
		switch dec.Kind {
		case steer.Addrs:
			if org.Addr.Is4() {
				dst = append(dst, &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(org.Addr.AsSlice())})
			} else {
				dst = append(dst, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(org.Addr.AsSlice())})
			}
		case steer.CNAME:
			if i == 0 {
				dst = append(dst, &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: org.Host})
			}
		case steer.MX:
			dst = append(dst, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: 10, Mx: org.Host})
		case steer.SRV:
			target := org.Host
			if target == "" {
				target = dns.Fqdn(org.Address())
			}
			dst = append(dst, &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: 0, Weight: uint16(math.Round(org.Weight * 100)), Port: org.Port, Target: target})
		}
	}
	return dst
}
