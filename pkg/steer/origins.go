package steer

// origins fills out with the answer from pool p (rulings 1-5, 17).
func (d *decider) origins(p int, fallback bool, out *Decision) {
	pl := &d.s.Pools[p]
	sc := d.lastScan
	if fallback || d.lastScanPool != p+1 {
		sc = d.scan(p, fallback)
	}
	tr := d.tr

	// Which origins answer: IP origins of the family, or hostnames when there are none (ruling
	// 1). A CNAME query gets the CNAME only when the pool answers with one (ruling 4).
	hosts := false
	kind := Addrs
	switch d.want {
	case wantA, wantAAAA:
		if sc.ip == 0 {
			hosts, kind = true, CNAME
		}
	case wantCNAME:
		if sc.ip > 0 {
			if tr != nil {
				tr.addf("answer: NODATA (pool %s answers with addresses, not a CNAME)", pl.Name)
			}
			return
		}
		hosts, kind = true, CNAME
	case wantMX:
		hosts, kind = true, MX
	case wantSRV:
		hosts, kind = true, SRV
	}

	o := out.Origins[:0]
	equal := true
	for i := range pl.Origins {
		or := &pl.Origins[i]
		if !or.Enabled || !(or.Weight > 0) {
			continue
		}
		if !fallback && pl.Monitored && d.state(p, i) != Up {
			continue
		}
		if hosts {
			if or.fam != famHost || (d.want == wantSRV && or.Port == 0) {
				continue
			}
		} else if !d.familyMatch(or.fam) {
			continue
		}
		if len(o) > 0 && or.Weight != pl.Origins[o[0]].Weight {
			equal = false
		}
		o = append(o, i)
	}
	out.Origins = o
	if len(o) == 0 { // cannot happen after scan, but never answer garbage
		return
	}
	if tr != nil {
		d.traceEligible(p, o)
	}

	switch {
	case d.all: // Default: every eligible origin (one for a CNAME), configuration order
		if kind == CNAME {
			out.Origins = o[:1]
		}
	case d.v.SessionAffinity == AffinityIPCookie:
		out.Origins = d.pickHash(p, o, "session_affinity ip_cookie")
	case kind == SRV:
		// SRV carries the weights itself (ruling 5): every eligible target, rotated.
		d.rotate(o)
	case equal && kind != CNAME:
		d.rotate(o)
		if tr != nil && len(o) > 1 {
			tr.add("equal weights: all eligible origins, order rotated")
		}
	case pl.OriginPolicy == OriginHash: // also picks the one CNAME among equals
		out.Origins = d.pickHash(p, o, "origin_steering hash")
	default:
		out.Origins = d.pickRandom(p, o)
	}
	out.Kind = kind
	if tr != nil {
		d.traceAnswer(p, out)
	}
}

func (d *decider) familyMatch(f family) bool {
	switch d.want {
	case wantA:
		return f == famV4
	case wantAAAA:
		return f == famV6
	}
	return false
}

// rotate rotates o by a random offset in place (three reversals, no allocation).
func (d *decider) rotate(o []int) {
	n := len(o)
	if n < 2 {
		return
	}
	k := d.rnd.intn(n)
	if k == 0 {
		return
	}
	reverse(o[:k])
	reverse(o[k:])
	reverse(o)
}

func reverse(o []int) {
	for i, j := 0, len(o)-1; i < j; i, j = i+1, j-1 {
		o[i], o[j] = o[j], o[i]
	}
}

// pickHash keeps the origin that wins weighted rendezvous hashing of the client key.
func (d *decider) pickHash(p int, o []int, why string) []int {
	pl := &d.s.Pools[p]
	key := d.clientKey()
	best, bestScore := o[0], -1.0
	for _, i := range o {
		if s := rendezvousScore(key, pl.Origins[i].seed, pl.Origins[i].Weight); s > bestScore {
			best, bestScore = i, s
		}
	}
	if d.tr != nil {
		d.tr.addf("%s: rendezvous hash of the client key picks %s", why, pl.Origins[best].Name)
	}
	o[0] = best
	return o[:1]
}

// pickRandom keeps one origin drawn by weight.
func (d *decider) pickRandom(p int, o []int) []int {
	pl := &d.s.Pools[p]
	total := 0.0
	for _, i := range o {
		total += pl.Origins[i].Weight
	}
	x := d.rnd.float() * total
	pick := o[len(o)-1]
	for _, i := range o {
		x -= pl.Origins[i].Weight
		if x < 0 {
			pick = i
			break
		}
	}
	if d.tr != nil {
		d.tr.addf("one origin drawn by weight (origin_steering %s): %s", pl.OriginPolicy, pl.Origins[pick].Name)
	}
	o[0] = pick
	return o[:1]
}
