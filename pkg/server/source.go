package server

import (
	"net/netip"
	"sync/atomic"

	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/steer"
)

// snapSource serves the published snapshot. Each worker remembers the last snapshot it saw and
// its view; a new snapshot's view is built once and shared through last.
type snapSource struct {
	p    *atomic.Pointer[snapshot.Snapshot]
	last atomic.Pointer[snapView]
}

type snapView struct {
	snap *snapshot.Snapshot
	v    *zoneView
}

func (s *snapSource) load(w *worker) view {
	snap := s.p.Load()
	if snap == nil || snap.Zones == nil {
		return nil
	}
	if w.snap == snap {
		return w.snapView
	}
	sv := s.last.Load()
	if sv == nil || sv.snap != snap {
		sv = &snapView{snap: snap, v: newZoneView(snap)}
		s.last.Store(sv)
	}
	w.snap, w.snapView = snap, sv.v
	return sv.v
}

func newZoneView(snap *snapshot.Snapshot) *zoneView {
	var loc steer.Locator
	if snap.Geo != nil {
		loc = geoDB{snap.Geo}
	}
	return &zoneView{zones: snap.Zones, lbs: newLBSet(snap.Steer, snap.Health, loc), starting: snap.Starting}
}

// geoDB adapts *geo.DB to steer.Locator.
type geoDB struct{ db *geo.DB }

func (g geoDB) Lookup(ip netip.Addr) (steer.Location, bool) {
	loc, ok := g.db.Lookup(ip)
	return steer.Location(loc), ok
}
