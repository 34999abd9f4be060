package server

import (
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/pkg/zone"
)

// zoneView answers from a zone set, with load-balanced names decided by a steer set.
type zoneView struct {
	zones *zone.Set
	lbs   lbSet // load balancers; zero value: none
	// starting: load-balanced answers are SERVFAIL until the first health round (ruling 8).
	starting bool
}

func (v *zoneView) lookup(w *worker, qname string, qtype uint16, res *result) bool {
	z := v.zones.Find(qname)
	if z == nil {
		return false
	}
	var dyn zone.Dynamic
	if v.lbs.active() {
		w.dyn.begin(w, &v.lbs, res)
		dyn = &w.dyn
	}
	r := z.Lookup(qname, qtype, dyn)
	if r.Kind == zone.ServFail && r.Rcode == dns.RcodeRefused {
		return false
	}
	res.rcode, res.aa = r.Rcode, r.AA
	res.zone = w.zoneCounters(z.Origin())
	res.answer, res.ns, res.extra = r.Answer, r.Ns, r.Extra
	if (qtype == dns.TypeMX || qtype == dns.TypeSRV) && r.Rcode == dns.RcodeSuccess && len(v.zones.Zones()) > 1 {
		v.otherZoneTargets(z, dyn, res)
	}
	if v.starting && res.dynamic {
		// A load balancer decided (part of) this answer before the first health round:
		// SERVFAIL, so resolvers ask again or elsewhere rather than cache a guess (ruling 8).
		res.rcode, res.aa, res.scope = dns.RcodeServerFailure, false, 0
		res.answer, res.ns, res.extra = nil, nil, nil
	}
	return true
}

// otherZoneTargets adds the A/AAAA of MX and SRV targets that lie in another served zone to
// the additional section (ruling 5: targets inside served zones get their addresses; pkg/zone
// adds those of its own zone). Load-balanced targets are decided by dyn like any answer.
func (v *zoneView) otherZoneTargets(z *zone.Zone, dyn zone.Dynamic, res *result) {
	owned := false
	for _, rr := range res.answer {
		var target string
		switch t := rr.(type) {
		case *dns.MX:
			target = t.Mx
		case *dns.SRV:
			target = t.Target
		default:
			continue
		}
		oz := v.zones.Find(target)
		if oz == nil || oz == z || hasAddrs(res.extra, target) {
			continue
		}
		for _, at := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
			r := oz.Lookup(target, at, dyn)
			if r.Rcode != dns.RcodeSuccess {
				continue
			}
			for _, a := range r.Answer {
				if h := a.Header(); h.Rrtype == at && strings.EqualFold(h.Name, target) {
					if !owned {
						// res.extra may be the zone's own slice: copy before appending.
						res.extra, owned = slices.Clip(res.extra), true
					}
					res.extra = append(res.extra, a)
				}
			}
		}
	}
}

// hasAddrs reports whether extra already holds an A or AAAA record of name.
func hasAddrs(extra []dns.RR, name string) bool {
	for _, rr := range extra {
		if h := rr.Header(); (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) && strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}
