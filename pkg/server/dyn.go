package server

import "github.com/miekg/dns"

// lbSet is the steering state of a view (placeholder until steer.Decide exists).
type lbSet struct{}

func (s *lbSet) active() bool { return false }

// dynState is the per-worker zone.Dynamic adapter (placeholder until steer.Decide exists).
type dynState struct{}

func (d *dynState) init()                                     {}
func (d *dynState) begin(w *worker, v *zoneView, res *result) {}
func (d *dynState) Answer(mark int, owner string, qtype uint16, dst []dns.RR) ([]dns.RR, bool) {
	return dst, false
}
