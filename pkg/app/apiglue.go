package app

import (
	"context"

	"github.com/lbdns/lbdns/pkg/api"
	"github.com/lbdns/lbdns/pkg/health"
	"github.com/lbdns/lbdns/pkg/model"
)

// The API reads health through these adapters from pkg/health's view to pkg/api's shapes.

// apiHealth returns the health the API reports, or nil before the prober has a view.
func (a *App) apiHealth() api.Health {
	a.mu.Lock()
	v, cat := a.view, a.catalog
	a.mu.Unlock()
	if v == nil || cat == nil {
		return nil
	}
	return viewHealth{v: v, cat: cat}
}

type viewHealth struct {
	v   *health.View
	cat *model.Catalog
}

func (h viewHealth) Pool(poolID string) (api.PoolHealth, bool) {
	var pool *model.Pool
	for i := range h.cat.Pools {
		if h.cat.Pools[i].ID == poolID {
			pool = &h.cat.Pools[i]
			break
		}
	}
	if pool == nil {
		return api.PoolHealth{}, false
	}
	ps := h.v.Pool(poolID)
	out := api.PoolHealth{Healthy: ps.Healthy, Origins: make([]api.OriginHealth, len(pool.Origins))}
	for i, o := range pool.Origins {
		st := h.v.Origin(poolID, i)
		healthy := st.State == health.Healthy || (!st.Monitored && st.State == health.Unknown)
		out.Origins[i] = api.OriginHealth{Address: o.Address, Healthy: healthy, RTT: st.RTT, FailureReason: st.Reason, ResponseCode: st.Code}
	}
	return out, true
}

// apiProbe runs a preview: every origin of pool probed once with mon (ruling 32).
func (a *App) apiProbe(ctx context.Context, mon model.Monitor, pool model.Pool) (api.PoolHealth, error) {
	res := a.prober.Preview(ctx, mon, pool)
	out := api.PoolHealth{Healthy: true, Origins: make([]api.OriginHealth, len(res.Origins))}
	healthy := 0
	for i, o := range res.Origins {
		out.Origins[i] = api.OriginHealth{Address: o.Address, Healthy: o.Healthy, RTT: o.RTT, FailureReason: o.FailureReason, ResponseCode: o.ResponseCode}
		if o.Healthy {
			healthy++
		}
	}
	minimum := model.DefaultMinimumOrigins
	if pool.MinimumOrigins != nil {
		minimum = *pool.MinimumOrigins
	}
	out.Healthy = healthy >= minimum
	return out, nil
}

// apiEvents returns the retained health change events, oldest first.
func (a *App) apiEvents() []api.Event {
	a.mu.Lock()
	v := a.view
	a.mu.Unlock()
	if v == nil {
		return nil
	}
	evs := v.Events(0) // newest first
	out := make([]api.Event, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		ae := api.Event{ID: e.ID, Timestamp: e.Timestamp, Pool: api.EventPool{
			ID: e.Pool.ID, Name: e.Pool.Name, Healthy: e.Pool.Healthy,
			Changed: e.EventSource == health.SourcePool, MinimumOrigins: e.Pool.MinimumOrigins,
		}}
		for _, o := range e.Origins {
			ae.Origins = append(ae.Origins, api.EventOrigin{
				Name: o.Name, Address: o.IP, IP: o.IP, Enabled: o.Enabled, Healthy: o.Healthy,
				Changed: !o.Changed.IsZero() && !o.Changed.Before(e.Timestamp), FailureReason: o.FailureReason, ResponseCode: o.ResponseCode,
			})
		}
		out = append(out, ae)
	}
	return out
}
