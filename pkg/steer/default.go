package steer

// Default fills out with load balancer lb's default answer to qtype (ruling 38), the one
// outgoing zone transfers carry: no client location, no randomness, no rules — the first pool
// of default_pools that can answer (enabled, healthy, with an eligible origin of the type),
// else the fallback pool with health ignored; all its eligible origins in configuration order;
// the LB's TTL. Load shedding does not apply. A disabled LB, or a type it does not own, gives
// None.
func (s *Set) Default(lb int, h Health, qtype uint16, out *Decision) {
	if out == nil {
		return
	}
	out.Kind, out.Pool, out.Origins, out.TTL, out.Scope, out.Fallback = None, -1, out.Origins[:0], 0, 0, false
	if s == nil || lb < 0 || lb >= len(s.LBs) {
		return
	}
	q := Query{Type: qtype}
	d := decider{s: s, lb: &s.LBs[lb], q: &q, health: h, all: true}
	d.want = d.lb.wantOf(qtype)
	if !d.lb.Enabled || d.want == wantNone {
		return
	}
	d.v = d.lb.Settings
	out.TTL = d.v.TTL
	p, fallback := -1, false
	for _, c := range d.v.DefaultPools {
		if d.usable(c) {
			p = c
			break
		}
	}
	if p < 0 {
		p = d.fallbackPool()
		fallback = p >= 0
	}
	if p < 0 {
		return
	}
	out.Pool, out.Fallback = p, fallback
	d.origins(p, fallback, out)
}
