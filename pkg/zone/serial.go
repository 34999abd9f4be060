package zone

import (
	"maps"
	"slices"

	"github.com/miekg/dns"
)

// WithSerial returns a copy of z whose SOA carries serial: in SOA answers, in the authority
// section of negative answers and in RRs. Everything else is shared with z (the name map
// and the record list are copied, the nodes other than the apex are not). It is how the
// serial that transfers announce after a load balancer's answer changed (ruling 39) reaches
// SOA queries. z itself is not changed; an Unavailable zone, or serial equal to the current
// one, returns z.
func (z *Zone) WithSerial(serial uint32) *Zone {
	if z.apex == nil || z.soa == nil || z.soa.Serial == serial {
		return z
	}
	nz := *z
	soa := dns.Copy(z.soa).(*dns.SOA)
	soa.Serial = serial
	nz.soa = soa
	neg := dns.Copy(soa).(*dns.SOA)
	neg.Hdr.Ttl = min(neg.Hdr.Ttl, neg.Minttl)
	nz.negNs = []dns.RR{neg}

	apex := *z.apex
	apex.sets = slices.Clone(z.apex.sets)
	for i := range apex.sets {
		if apex.sets[i].typ == dns.TypeSOA {
			apex.sets[i].rrs = []dns.RR{soa}
		}
	}
	nz.apex = &apex
	nz.nodes = maps.Clone(z.nodes)
	nz.nodes[z.lorigin] = &apex

	nz.records = slices.Clone(z.records)
	for i, rr := range nz.records {
		if rr == dns.RR(z.soa) {
			nz.records[i] = soa
		}
	}
	return &nz
}
