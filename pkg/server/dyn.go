package server

import (
	"math"
	"math/rand/v2"
	"net"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdns/lbdns/pkg/steer"
)

// lbSet is the steering state of a view: the compiled load balancers, the health and GeoIP
// they read, and the origin addresses as net.IP, converted once per snapshot so that building
// A/AAAA records allocates nothing.
type lbSet struct {
	set    *steer.Set
	health steer.Health
	geo    steer.Locator
	ips    [][]net.IP // [pool][origin]; nil for hostname origins
}

func newLBSet(set *steer.Set, health steer.Health, geo steer.Locator) lbSet {
	if set == nil || len(set.LBs) == 0 {
		return lbSet{}
	}
	l := lbSet{set: set, health: health, geo: geo, ips: make([][]net.IP, len(set.Pools))}
	for p := range set.Pools {
		os := set.Pools[p].Origins
		l.ips[p] = make([]net.IP, len(os))
		for o := range os {
			if a := os[o].Addr; a.IsValid() {
				l.ips[p][o] = net.IP(a.Unmap().AsSlice())
			}
		}
	}
	return l
}

func (s *lbSet) active() bool { return s.set != nil }

// dynState is a worker's zone.Dynamic: it asks steer.Decide for the load balancer's answer and
// turns the decision into records built from per-worker arrays of records (reused every query:
// the records live until the reply is packed, within the same handle call).
type dynState struct {
	w   *worker
	lbs *lbSet
	res *result
	env steer.Env
	rng *rand.PCG
	q   steer.Query
	dec steer.Decision

	a     []dns.A
	aaaa  []dns.AAAA
	cname []dns.CNAME
	mx    []dns.MX
	srv   []dns.SRV
	rrbuf []dns.RR // backing store of the slices Answer returns when dst has no room

	counters map[uint64]prometheus.Counter // lbdns_lb_answers_total by lb<<32|pool, per view
	countFor *lbSet
}

const dynRecords = 64 // records of each type per query before the arrays grow

func (d *dynState) init() {
	d.a = make([]dns.A, 0, dynRecords)
	d.aaaa = make([]dns.AAAA, 0, dynRecords)
	d.cname = make([]dns.CNAME, 0, dynRecords)
	d.mx = make([]dns.MX, 0, dynRecords)
	d.srv = make([]dns.SRV, 0, dynRecords)
	d.rrbuf = make([]dns.RR, 0, 2*dynRecords)
	d.dec.Origins = make([]int, 0, dynRecords)
	d.counters = map[uint64]prometheus.Counter{}
}

func (d *dynState) seed(s uint64) {
	d.rng = rand.NewPCG(s, s^0x9e3779b97f4a7c15)
}

// begin prepares the adapter for one lookup.
func (d *dynState) begin(w *worker, lbs *lbSet, res *result) {
	d.w, d.lbs, d.res = w, lbs, res
	d.a, d.aaaa, d.cname, d.mx, d.srv = d.a[:0], d.aaaa[:0], d.cname[:0], d.mx[:0], d.srv[:0]
	d.env.Geo, d.env.Health = lbs.geo, lbs.health
	if d.rng != nil {
		d.env.Rand = d.rng
	}
	if d.countFor != lbs {
		clear(d.counters)
		d.countFor = lbs
	}
}

// Answer implements zone.Dynamic.
func (d *dynState) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	set := d.lbs.set
	if mark < 0 || mark >= len(set.LBs) {
		return dst, false
	}
	lb := &set.LBs[mark]
	t := qtype
	if t == dns.TypeANY || d.w.q.qtype == dns.TypeANY {
		// pkg/zone may pass ANY on as A; either way the query was ANY.
		// RFC 8482 minimal ANY: the LB's own type stands for the name.
		switch lb.Service {
		case steer.ServeMX:
			t = dns.TypeMX
		case steer.ServeSRV:
			t = dns.TypeSRV
		default:
			t = dns.TypeA
		}
	}
	if !lb.Owns(t) {
		return dst, false
	}
	w := d.w
	d.q = steer.Query{Name: owner, Type: t, Source: w.c.addr}
	if w.q.hasECS {
		d.q.ECS, d.q.HasECS = w.q.ecsPrefix, true
	}
	set.Decide(mark, &d.env, &d.q, &d.dec, nil)
	res := d.res
	res.dynamic = true
	if d.dec.Scope > res.scope {
		res.scope = d.dec.Scope
	}
	res.lastLB, res.lastPool = mark, d.dec.Pool
	if d.dec.Kind == steer.None || d.dec.Pool < 0 || d.dec.Pool >= len(set.Pools) {
		return dst, true
	}
	d.count(mark, d.dec.Pool)
	if cap(dst)-len(dst) < len(d.dec.Origins) {
		// Zone slices have no spare capacity: continue in the worker's buffer instead of
		// letting append allocate (copying onto itself when dst already is that buffer).
		dst = append(d.rrbuf[:0], dst...)
		if cap(dst) > cap(d.rrbuf) {
			d.rrbuf = dst[:0]
		}
	}
	pool := &set.Pools[d.dec.Pool]
	ips := d.lbs.ips[d.dec.Pool]
	hdr := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: d.dec.TTL}
	switch d.dec.Kind {
	case steer.Addrs:
		for _, i := range d.dec.Origins {
			ip := ips[i]
			if ip == nil {
				continue
			}
			if len(ip) == net.IPv4len {
				hdr.Rrtype = dns.TypeA
				d.a = append(d.a, dns.A{Hdr: hdr, A: ip})
				dst = append(dst, &d.a[len(d.a)-1])
			} else {
				hdr.Rrtype = dns.TypeAAAA
				d.aaaa = append(d.aaaa, dns.AAAA{Hdr: hdr, AAAA: ip})
				dst = append(dst, &d.aaaa[len(d.aaaa)-1])
			}
		}
	case steer.CNAME:
		if len(d.dec.Origins) > 0 {
			hdr.Rrtype = dns.TypeCNAME
			d.cname = append(d.cname, dns.CNAME{Hdr: hdr, Target: pool.Origins[d.dec.Origins[0]].Host})
			dst = append(dst, &d.cname[len(d.cname)-1])
		}
	case steer.MX:
		hdr.Rrtype = dns.TypeMX
		for _, i := range d.dec.Origins {
			d.mx = append(d.mx, dns.MX{Hdr: hdr, Preference: 10, Mx: pool.Origins[i].Host})
			dst = append(dst, &d.mx[len(d.mx)-1])
		}
	case steer.SRV:
		hdr.Rrtype = dns.TypeSRV
		for _, i := range d.dec.Origins {
			o := &pool.Origins[i]
			d.srv = append(d.srv, dns.SRV{Hdr: hdr, Priority: 0, Weight: uint16(math.Round(o.Weight * 100)), Port: o.Port, Target: o.Host})
			dst = append(dst, &d.srv[len(d.srv)-1])
		}
	}
	return dst, true
}

// count adds one to lbdns_lb_answers_total{lb,pool}; the series is resolved once per worker and
// snapshot.
func (d *dynState) count(lb, pool int) {
	m := d.w.m.shared
	if m == nil {
		return
	}
	k := uint64(lb)<<32 | uint64(uint32(pool))
	c := d.counters[k]
	if c == nil {
		set := d.lbs.set
		c = m.lbAnswers.WithLabelValues(set.LBs[lb].Name, set.Pools[pool].Name)
		d.counters[k] = c
	}
	c.Inc()
}
