package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/lbdns/lbdns/pkg/model"
)

var monitorHooks = hooks[model.Monitor]{
	k:         monitors,
	referrers: monitorReferrers,
	merge:     mergeMonitor,
}

// mergeMonitor makes type-dependent defaults follow a type changed by a PATCH: without a
// method in the body, PATCH {"type":"tcp"} on an http monitor with the default GET gives
// connection_established (and back), as a monitor created with the new type would have.
func mergeMonitor(old *model.Monitor, body, fields map[string]json.RawMessage) {
	rawType, ok := body["type"]
	if !ok {
		return
	}
	if _, ok := body["method"]; ok {
		return
	}
	var typ string
	if json.Unmarshal(rawType, &typ) != nil {
		return // decodeStrict reports it
	}
	if typ == "" {
		typ = model.MonitorHTTP
	}
	if typ == old.Type {
		return
	}
	if m := model.RetypedMonitorMethod(old.Type, old.Method, typ); m != "" {
		fields["method"], _ = json.Marshal(m)
	} else {
		delete(fields, "method")
	}
}

var monitorGroupHooks = hooks[model.MonitorGroup]{
	k:         monitorGroups,
	prepare:   prepareMonitorGroup,
	referrers: monitorGroupReferrers,
}

var poolHooks = hooks[model.Pool]{
	k: pools,
	filter: func(r *http.Request, p *model.Pool) bool {
		m := r.URL.Query().Get("monitor")
		return m == "" || p.Monitor == m
	},
	prepare:   preparePool,
	referrers: poolReferrers,
	decorate:  decoratePool,
}

var lbHooks = hooks[model.LoadBalancer]{
	k:        loadBalancers,
	scope:    zoneScope,
	prepare:  prepareLB,
	decorate: decorateLB,
}

func (h *Handler) routes() {
	for _, base := range []string{Prefix + "/accounts/{account}/load_balancers", Prefix + "/user/load_balancers"} {
		h.handle("GET "+base+"/monitors", func(w http.ResponseWriter, r *http.Request) { listObjects(h, monitorHooks, w, r) })
		h.handle("POST "+base+"/monitors", func(w http.ResponseWriter, r *http.Request) { createObject(h, monitorHooks, w, r) })
		h.handle("GET "+base+"/monitors/{id}", func(w http.ResponseWriter, r *http.Request) { getObject(h, monitorHooks, w, r) })
		h.handle("PUT "+base+"/monitors/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, monitorHooks, false, w, r) })
		h.handle("PATCH "+base+"/monitors/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, monitorHooks, true, w, r) })
		h.handle("DELETE "+base+"/monitors/{id}", func(w http.ResponseWriter, r *http.Request) { deleteObject(h, monitorHooks, w, r) })
		h.handle("POST "+base+"/monitors/{id}/preview", h.monitorPreview)
		h.handle("GET "+base+"/monitors/{id}/references", func(w http.ResponseWriter, r *http.Request) { listRefs(h, monitors, monitorReferences, w, r) })

		h.handle("GET "+base+"/monitor_groups", func(w http.ResponseWriter, r *http.Request) { listObjects(h, monitorGroupHooks, w, r) })
		h.handle("POST "+base+"/monitor_groups", func(w http.ResponseWriter, r *http.Request) { createObject(h, monitorGroupHooks, w, r) })
		h.handle("GET "+base+"/monitor_groups/{id}", func(w http.ResponseWriter, r *http.Request) { getObject(h, monitorGroupHooks, w, r) })
		h.handle("PUT "+base+"/monitor_groups/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, monitorGroupHooks, false, w, r) })
		h.handle("PATCH "+base+"/monitor_groups/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, monitorGroupHooks, true, w, r) })
		h.handle("DELETE "+base+"/monitor_groups/{id}", func(w http.ResponseWriter, r *http.Request) { deleteObject(h, monitorGroupHooks, w, r) })
		h.handle("GET "+base+"/monitor_groups/{id}/references", func(w http.ResponseWriter, r *http.Request) { listRefs(h, monitorGroups, monitorGroupReferences, w, r) })

		h.handle("GET "+base+"/pools", func(w http.ResponseWriter, r *http.Request) { listObjects(h, poolHooks, w, r) })
		h.handle("POST "+base+"/pools", func(w http.ResponseWriter, r *http.Request) { createObject(h, poolHooks, w, r) })
		h.handle("PATCH "+base+"/pools", h.patchPools)
		h.handle("GET "+base+"/pools/{id}", func(w http.ResponseWriter, r *http.Request) { getObject(h, poolHooks, w, r) })
		h.handle("PUT "+base+"/pools/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, poolHooks, false, w, r) })
		h.handle("PATCH "+base+"/pools/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, poolHooks, true, w, r) })
		h.handle("DELETE "+base+"/pools/{id}", func(w http.ResponseWriter, r *http.Request) { deleteObject(h, poolHooks, w, r) })
		h.handle("GET "+base+"/pools/{id}/health", h.poolHealth)
		h.handle("POST "+base+"/pools/{id}/preview", h.poolPreview)
		h.handle("GET "+base+"/pools/{id}/references", func(w http.ResponseWriter, r *http.Request) { listRefs(h, pools, poolReferences, w, r) })

		h.handle("GET "+base+"/preview/{id}", h.previewResult)
		h.handle("GET "+base+"/regions", h.regions)
		h.handle("GET "+base+"/regions/{code}", h.regions)
	}
	for _, p := range []string{Prefix + "/accounts/{account}/load_balancing_analytics/events", Prefix + "/user/load_balancing_analytics/events"} {
		h.handle("GET "+p, h.events)
	}
	h.handle("GET "+Prefix+"/zones", h.listZones)
	h.handle("GET "+Prefix+"/zones/{zone}", h.getZone)
	lbs := Prefix + "/zones/{zone}/load_balancers"
	h.handle("GET "+lbs, func(w http.ResponseWriter, r *http.Request) { listObjects(h, lbHooks, w, r) })
	h.handle("POST "+lbs, func(w http.ResponseWriter, r *http.Request) { createObject(h, lbHooks, w, r) })
	h.handle("GET "+lbs+"/{id}", func(w http.ResponseWriter, r *http.Request) { getObject(h, lbHooks, w, r) })
	h.handle("PUT "+lbs+"/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, lbHooks, false, w, r) })
	h.handle("PATCH "+lbs+"/{id}", func(w http.ResponseWriter, r *http.Request) { replaceObject(h, lbHooks, true, w, r) })
	h.handle("DELETE "+lbs+"/{id}", func(w http.ResponseWriter, r *http.Request) { deleteObject(h, lbHooks, w, r) })
}

// handle registers fn behind the account check: a path with an account id other than the
// configured one is unknown (404), like an object of another account at Cloudflare.
func (h *Handler) handle(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if acct := r.PathValue("account"); acct != "" && h.opts.AccountID != "" && acct != h.opts.AccountID {
			writeError(w, errNoRoute(r.URL.Path))
			return
		}
		fn(w, r)
	})
}

// ---- per-kind details ----

// preparePool keeps origins' read-only disabled_at: set when an origin becomes disabled,
// kept while it stays disabled, cleared when it is enabled.
func preparePool(h *Handler, r *http.Request, cur State, old, p *model.Pool) *Error {
	now := p.ModifiedOn
	for i := range p.Origins {
		o := &p.Origins[i]
		o.DisabledAt = nil
		if model.Bool(o.Enabled, true) {
			continue
		}
		o.DisabledAt = now
		if old == nil {
			continue
		}
		for _, prev := range old.Origins {
			if prev.Name == o.Name && prev.Address == o.Address && !model.Bool(prev.Enabled, true) && prev.DisabledAt != nil {
				o.DisabledAt = prev.DisabledAt
				break
			}
		}
	}
	return nil
}

// prepareMonitorGroup stamps the members' read-only created_at/updated_at: a member whose
// monitor was already in the group keeps its created_at, and its updated_at unless one of its
// settings changed.
func prepareMonitorGroup(h *Handler, r *http.Request, cur State, old, g *model.MonitorGroup) *Error {
	now := g.ModifiedOn
	for i := range g.Members {
		m := &g.Members[i]
		m.CreatedAt, m.UpdatedAt = now, now
		if old == nil {
			continue
		}
		for _, prev := range old.Members {
			if prev.MonitorID != m.MonitorID {
				continue
			}
			if prev.CreatedAt != nil {
				m.CreatedAt = prev.CreatedAt
			}
			if prev.UpdatedAt != nil && model.Bool(prev.Enabled, true) == model.Bool(m.Enabled, true) &&
				prev.MonitoringOnly == m.MonitoringOnly && prev.MustBeHealthy == m.MustBeHealthy {
				m.UpdatedAt = prev.UpdatedAt
			}
			break
		}
	}
	return nil
}

func decoratePool(h *Handler, st State, p model.Pool) model.Pool {
	hv := h.opts.Backend.Health()
	if hv == nil {
		return p
	}
	ph, ok := hv.Pool(p.ID)
	if !ok {
		return p
	}
	p.Healthy = model.Ptr(ph.Healthy)
	origins := make([]model.Origin, len(p.Origins))
	copy(origins, p.Origins)
	for i := range origins {
		if i < len(ph.Origins) {
			origins[i].Healthy = model.Ptr(ph.Origins[i].Healthy)
		}
	}
	p.Origins = origins
	return p
}

// zoneOf returns the zone a load balancer name lies in: the longest configured zone that
// contains it, or "".
func zoneOf(zones []Zone, name string) Zone {
	host := strings.TrimPrefix(model.NormalizeName(name), "*.")
	var best Zone
	for _, z := range zones {
		if model.InZone(host, z.Name) && len(z.Name) > len(best.Name) {
			best = z
		}
	}
	return best
}

func (h *Handler) zone(r *http.Request) (Zone, *Error) {
	id := r.PathValue("zone")
	for _, z := range h.opts.Backend.Zones() {
		if z.ID == id {
			return z, nil
		}
	}
	return Zone{}, errorf(http.StatusNotFound, CodeNotFound, "zone %s not found", id)
}

func zoneScope(h *Handler, r *http.Request) (func(*model.LoadBalancer) bool, *Error) {
	z, e := h.zone(r)
	if e != nil {
		return nil, e
	}
	zones := h.opts.Backend.Zones()
	return func(lb *model.LoadBalancer) bool { return zoneOf(zones, lb.Name).ID == z.ID }, nil
}

func prepareLB(h *Handler, r *http.Request, cur State, old, lb *model.LoadBalancer) *Error {
	z, e := h.zone(r)
	if e != nil {
		return e
	}
	if lb.Name == "" {
		return nil // Validate says the name is missing
	}
	if got := zoneOf(h.opts.Backend.Zones(), lb.Name); got.Name != "" && got.ID != z.ID {
		return errorf(http.StatusBadRequest, CodeInvalid, "name: %q lies in zone %s, not in zone %s of this path", lb.Name, got.Name, z.Name)
	}
	if !model.InZone(strings.TrimPrefix(lb.Name, "*."), z.Name) {
		return errorf(http.StatusBadRequest, CodeInvalid, "name: %q is not inside zone %s", lb.Name, z.Name)
	}
	return nil
}

func decorateLB(h *Handler, st State, lb model.LoadBalancer) model.LoadBalancer {
	lb.ZoneName = zoneOf(h.opts.Backend.Zones(), lb.Name).Name
	return lb
}
