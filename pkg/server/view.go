package server

import (
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
	if qtype == dns.TypeMX || qtype == dns.TypeSRV {
		v.zones.AddOtherZoneTargets(z, &r, dyn)
	}
	res.answer, res.ns, res.extra = r.Answer, r.Ns, r.Extra
	if v.starting && res.dynamic {
		// A load balancer decided (part of) this answer before the first health round:
		// SERVFAIL, so resolvers ask again or elsewhere rather than cache a guess (ruling 8).
		res.rcode, res.aa, res.scope = dns.RcodeServerFailure, false, 0
		res.answer, res.ns, res.extra = nil, nil, nil
	}
	return true
}
