package xfr

import (
	"math"
	"net"
	"strings"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/steer"
	"github.com/lbdns/lbdns/pkg/zone"
)

// Outgoing returns what a transfer of z carries (ruling 38): the zone's records, where at the
// exact name of every enabled load balancer of set inside z the types the balancer owns
// (A/AAAA/CNAME; MX for mail and SRV for service balancers) are replaced by its default answer
// (steer.Set.Default: no client location, the first pool that can serve, all its eligible
// origins, the balancer's TTL). Wildcard and disabled balancers leave the zone data alone, as do
// names at or below a delegation. A CNAME answer is carried only when nothing else lives at the
// name (RFC 1034 §3.6.2); otherwise the name has no address record, as a query for it would get
// none that a secondary could serve. The SOA comes first with the zone's serial (Publish moves it).
// set may be nil (no load balancers).
func Outgoing(z *zone.Zone, set *steer.Set, h steer.Health) []dns.RR {
	rrs := z.RRs()
	if set == nil || len(set.LBs) == 0 {
		return rrs
	}
	origin := dns.CanonicalName(z.Origin())
	// Delegation points (NS below the apex) and which names have which types.
	cuts := map[string]bool{}
	types := map[string]map[uint16]bool{}
	for _, rr := range rrs {
		h := rr.Header()
		name := dns.CanonicalName(h.Name)
		if h.Rrtype == dns.TypeNS && name != origin {
			cuts[name] = true
		}
		if types[name] == nil {
			types[name] = map[uint16]bool{}
		}
		types[name][h.Rrtype] = true
	}
	belowCut := func(name string) bool {
		for n := name; ; {
			if cuts[n] {
				return true
			}
			i := strings.IndexByte(n, '.')
			if i < 0 || i+1 >= len(n) {
				return false
			}
			n = n[i+1:]
			if len(n) < len(origin) {
				return false
			}
		}
	}
	replaced := map[string]*steer.LB{} // name → balancer
	lbIndex := map[string]int{}
	for i := range set.LBs {
		lb := &set.LBs[i]
		name := dns.CanonicalName(lb.Name)
		if !lb.Enabled || lb.Wildcard || strings.HasPrefix(name, "*.") || !dns.IsSubDomain(origin, name) || belowCut(name) {
			continue
		}
		replaced[name], lbIndex[name] = lb, i
	}
	if len(replaced) == 0 {
		return rrs
	}
	out := make([]dns.RR, 0, len(rrs)+8)
	for _, rr := range rrs {
		h := rr.Header()
		if lb := replaced[dns.CanonicalName(h.Name)]; lb != nil && lb.OwnsService(h.Rrtype) {
			continue
		}
		out = append(out, rr)
	}
	var dec steer.Decision
	for i := range set.LBs {
		name := dns.CanonicalName(set.LBs[i].Name)
		lb := replaced[name]
		if lb == nil || lbIndex[name] != i {
			continue
		}
		others := false
		for t := range types[name] {
			if !lb.OwnsService(t) && t != dns.TypeRRSIG && t != dns.TypeNSEC {
				others = true
			}
		}
		var qtypes []uint16
		switch lb.Service {
		case steer.ServeMX:
			qtypes = []uint16{dns.TypeMX}
		case steer.ServeSRV:
			qtypes = []uint16{dns.TypeSRV}
		default:
			qtypes = []uint16{dns.TypeA, dns.TypeAAAA}
		}
		var cname dns.RR
		var addrs []dns.RR
		for _, t := range qtypes {
			set.Default(i, h, t, &dec)
			recs := records(set, &dec, name)
			for _, r := range recs {
				if r.Header().Rrtype == dns.TypeCNAME {
					if cname == nil {
						cname = r
					}
					continue
				}
				addrs = append(addrs, r)
			}
		}
		switch {
		case len(addrs) > 0:
			out = append(out, addrs...)
		case cname != nil && !others:
			out = append(out, cname)
		}
	}
	return out
}

// records turns a decision into records at name, as the server answers them.
func records(set *steer.Set, d *steer.Decision, name string) []dns.RR {
	if d.Kind == steer.None || d.Pool < 0 || d.Pool >= len(set.Pools) {
		return nil
	}
	pool := &set.Pools[d.Pool]
	hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: d.TTL}
	var out []dns.RR
	switch d.Kind {
	case steer.Addrs:
		for _, i := range d.Origins {
			a := pool.Origins[i].Addr
			if !a.IsValid() {
				continue
			}
			a = a.Unmap()
			if a.Is4() {
				h := hdr
				h.Rrtype = dns.TypeA
				out = append(out, &dns.A{Hdr: h, A: net.IP(a.AsSlice())})
			} else {
				h := hdr
				h.Rrtype = dns.TypeAAAA
				out = append(out, &dns.AAAA{Hdr: h, AAAA: net.IP(a.AsSlice())})
			}
		}
	case steer.CNAME:
		if len(d.Origins) > 0 {
			hdr.Rrtype = dns.TypeCNAME
			out = append(out, &dns.CNAME{Hdr: hdr, Target: pool.Origins[d.Origins[0]].Host})
		}
	case steer.MX:
		hdr.Rrtype = dns.TypeMX
		for _, i := range d.Origins {
			out = append(out, &dns.MX{Hdr: hdr, Preference: 10, Mx: pool.Origins[i].Host})
		}
	case steer.SRV:
		hdr.Rrtype = dns.TypeSRV
		for _, i := range d.Origins {
			o := &pool.Origins[i]
			out = append(out, &dns.SRV{Hdr: hdr, Weight: uint16(math.Round(o.Weight * 100)), Port: o.Port, Target: o.Host})
		}
	}
	return out
}
