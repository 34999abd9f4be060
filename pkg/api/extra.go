package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// ---- references ----

// listRefs answers GET …/{id}/references for an object of kind k: 404 for an unknown id,
// else what refs finds.
func listRefs[T any](h *Handler, k kind[T], refs func(*model.Catalog, string) []Reference, w http.ResponseWriter, r *http.Request) {
	st := h.opts.Backend.State()
	id := r.PathValue("id")
	if k.find(&st.Catalog, id) == nil {
		writeError(w, notFound(k.label, id))
		return
	}
	writeRefs(w, r, refs(&st.Catalog, id))
}

// writeRefs answers a references list, paginated like every list (page, per_page).
func writeRefs(w http.ResponseWriter, r *http.Request, refs []Reference) {
	page, ri, e := paginate(r, refs)
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, http.StatusOK, page, ri, nil)
}

// ---- pool health ----

// poolHealthResult is Cloudflare's Pool Health Details shape (cloudflare-go
// LoadBalancerPoolHealth): per PoP, the pool's health and one {address: health} map per origin.
type poolHealthResult struct {
	PoolID    string                   `json:"pool_id"`
	PopHealth map[string]popHealthJSON `json:"pop_health"`
}

type popHealthJSON struct {
	Healthy bool                          `json:"healthy"`
	Origins []map[string]originHealthJSON `json:"origins"`
}

type originHealthJSON struct {
	Healthy       bool   `json:"healthy"`
	RTT           string `json:"rtt,omitempty"`
	FailureReason string `json:"failure_reason,omitempty"`
	ResponseCode  int    `json:"response_code,omitempty"`
}

func toPopHealth(p model.Pool, ph PoolHealth) popHealthJSON {
	out := popHealthJSON{Healthy: ph.Healthy, Origins: []map[string]originHealthJSON{}}
	for i, oh := range ph.Origins {
		addr := oh.Address
		if addr == "" && i < len(p.Origins) {
			addr = p.Origins[i].Address
		}
		j := originHealthJSON{Healthy: oh.Healthy, FailureReason: oh.FailureReason, ResponseCode: oh.ResponseCode}
		if oh.RTT > 0 {
			j.RTT = oh.RTT.Round(100 * time.Microsecond).String()
		}
		out.Origins = append(out.Origins, map[string]originHealthJSON{addr: j})
	}
	return out
}

func (h *Handler) poolHealth(w http.ResponseWriter, r *http.Request) {
	st := h.opts.Backend.State()
	id := r.PathValue("id")
	p := pools.find(&st.Catalog, id)
	if p == nil {
		writeError(w, notFound("pool", id))
		return
	}
	res := poolHealthResult{PoolID: id, PopHealth: map[string]popHealthJSON{}}
	if hv := h.opts.Backend.Health(); hv != nil {
		if ph, ok := hv.Pool(id); ok {
			res.PopHealth[h.opts.PoP] = toPopHealth(*p, ph)
		}
	}
	writeResult(w, http.StatusOK, res, nil, nil)
}

// ---- previews (ruling 32) ----

type previewStarted struct {
	PreviewID string            `json:"preview_id"`
	Pools     map[string]string `json:"pools"` // pool id → pool name
}

type previewPool = popHealthJSON

// previewTimeout bounds one preview run.
const previewTimeout = 2 * time.Minute

func (h *Handler) monitorPreview(w http.ResponseWriter, r *http.Request) {
	st := h.opts.Backend.State()
	id := r.PathValue("id")
	if monitors.find(&st.Catalog, id) == nil {
		writeError(w, notFound("monitor", id))
		return
	}
	var targets []model.Pool
	for _, p := range st.Catalog.Pools {
		if p.Monitor == id {
			targets = append(targets, p)
		}
	}
	h.startPreview(w, r, targets)
}

func (h *Handler) poolPreview(w http.ResponseWriter, r *http.Request) {
	st := h.opts.Backend.State()
	id := r.PathValue("id")
	p := pools.find(&st.Catalog, id)
	if p == nil {
		writeError(w, notFound("pool", id))
		return
	}
	h.startPreview(w, r, []model.Pool{*p})
}

// startPreview validates the monitor in the body and probes the targets in the background;
// GET .../preview/{id} waits for the result.
func (h *Handler) startPreview(w http.ResponseWriter, r *http.Request, targets []model.Pool) {
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	clean(body)
	mon, e := decodeStrict[model.Monitor](body)
	if e != nil {
		writeError(w, e)
		return
	}
	model.NormalizeMonitor(&mon)
	mon.ID = "preview"
	if errs := model.ValidateMonitor(&mon, "").Errors(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, p := range errs {
			msgs[i] = p.String()
		}
		writeError(w, &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Msgs: msgs})
		return
	}
	pid := h.newID()
	started := previewStarted{PreviewID: pid, Pools: map[string]string{}}
	for _, p := range targets {
		started.Pools[p.ID] = p.Name
	}
	pv := &preview{done: make(chan struct{}), result: map[string]previewPool{}}
	h.previews.add(pid, pv)
	go func() {
		defer close(pv.done)
		ctx, cancel := context.WithTimeout(context.Background(), previewTimeout)
		defer cancel()
		for _, p := range targets {
			ph, err := h.opts.Backend.Probe(ctx, mon, p)
			if err != nil {
				pv.err = err
				return
			}
			pv.result[p.ID] = toPopHealth(p, ph)
		}
	}()
	writeResult(w, http.StatusOK, started, nil, nil)
}

func (h *Handler) previewResult(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pv := h.previews.get(id)
	if pv == nil {
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "preview %s not found (previews are kept in memory, the last %d)", id, maxPreviews))
		return
	}
	select {
	case <-pv.done:
	case <-r.Context().Done():
		return
	}
	if pv.err != nil {
		writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavail, "preview %s failed: %v", id, pv.err))
		return
	}
	writeResult(w, http.StatusOK, pv.result, nil, nil)
}

// ---- bulk PATCH of pools ----

// patchPools applies {"notification_email": …} to every pool of the page (page/per_page;
// all pools without them), ordered by name, as Cloudflare's Patch Pools does. Pools declared
// in the config file that the patch would change make it a 409.
func (h *Handler) patchPools(w http.ResponseWriter, r *http.Request) {
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	clean(body)
	var email *string
	for k := range body {
		if k != "notification_email" {
			writeError(w, errorf(http.StatusBadRequest, CodeInvalid, "%s: only notification_email can be patched on all pools; PATCH .../pools/{id} changes one pool", k))
			return
		}
	}
	if raw, ok := body["notification_email"]; ok {
		v, e := decodeStrict[struct {
			V string `json:"notification_email"`
		}](map[string]json.RawMessage{"notification_email": raw})
		if e != nil {
			writeError(w, e)
			return
		}
		email = &v.V
	}
	now := stamp(h.opts.Now())
	var ids []string
	var ri *ResultInfo
	st, warns, err := h.write(r.Context(), func(cur State) (Change, *Error) {
		sorted := make([]model.Pool, len(cur.Catalog.Pools))
		copy(sorted, cur.Catalog.Pools)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
		page, pageInfo, e := paginate(r, sorted)
		if e != nil {
			return Change{}, e
		}
		ids, ri = ids[:0], pageInfo
		var chg Change
		for _, p := range page {
			ids = append(ids, p.ID)
			if email == nil || p.NotificationEmail == *email {
				continue
			}
			if cur.FromFile(model.KindPool, p.ID) {
				return Change{}, fromFile(pools.title(&p))
			}
			p.NotificationEmail = *email
			p.ModifiedOn = now
			chg.Put.Pools = append(chg.Put.Pools, p)
		}
		return chg, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]model.Pool, 0, len(ids))
	for _, id := range ids {
		if p := pools.find(&st.Catalog, id); p != nil {
			out = append(out, decoratePool(h, st, *p))
		}
	}
	// The page that was patched, as a list of that page would describe it.
	ri.Count = len(out)
	writeResult(w, http.StatusOK, out, ri, warns)
}

// ---- regions ----

type regionsResult struct {
	ISOStandard string       `json:"iso_standard"`
	Regions     []regionJSON `json:"regions"`
}

type regionJSON struct {
	RegionCode string        `json:"region_code"`
	RegionName string        `json:"region_name"`
	Countries  []countryJSON `json:"countries"`
}

type countryJSON struct {
	CountryCode  string            `json:"country_code_a2"`
	Subdivisions []subdivisionJSON `json:"country_subdivisions,omitempty"`
}

type subdivisionJSON struct {
	Code string `json:"subdivision_code_a2"`
}

// regions serves GET .../regions (all, or those holding ?country_code= / ?subdivision_code=)
// and GET .../regions/{code}.
func (h *Handler) regions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := strings.ToUpper(r.PathValue("code"))
	country := strings.ToUpper(first(q.Get("country_code"), q.Get("country_code_a2")))
	sub := strings.ToUpper(first(q.Get("subdivision_code"), q.Get("subdivision_code_a2")))
	res := regionsResult{ISOStandard: "Country and subdivision codes follow ISO 3166-1 alpha-2 and ISO 3166-2", Regions: []regionJSON{}}
	for _, rg := range h.opts.Backend.Regions() {
		if code != "" && rg.Code != code {
			continue
		}
		rj := regionJSON{RegionCode: rg.Code, RegionName: rg.Name, Countries: []countryJSON{}}
		at := map[string]int{}
		for _, cc := range rg.Countries {
			at[cc] = len(rj.Countries)
			rj.Countries = append(rj.Countries, countryJSON{CountryCode: cc})
		}
		match := country == "" && sub == ""
		for _, s := range rg.Subdivisions {
			cc, sc, ok := strings.Cut(s, "-")
			if !ok {
				continue
			}
			i, seen := at[cc]
			if !seen {
				i = len(rj.Countries)
				at[cc] = i
				rj.Countries = append(rj.Countries, countryJSON{CountryCode: cc})
			}
			rj.Countries[i].Subdivisions = append(rj.Countries[i].Subdivisions, subdivisionJSON{Code: sc})
			if sub != "" && (sc == sub || s == sub) && (country == "" || country == cc) {
				match = true
			}
		}
		if country != "" && sub == "" {
			_, match = at[country]
		}
		sort.Slice(rj.Countries, func(i, j int) bool { return rj.Countries[i].CountryCode < rj.Countries[j].CountryCode })
		if match {
			res.Regions = append(res.Regions, rj)
		}
	}
	if code != "" && len(res.Regions) == 0 {
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "region %s not found", code))
		return
	}
	writeResult(w, http.StatusOK, res, nil, nil)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// ---- health events ----

// events serves the health change events, newest first, filtered by Cloudflare's query
// parameters: since, until (RFC 3339), pool_id (or identifier), pool_name, origin_name,
// pool_healthy, origin_healthy; then paginated.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since, until time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &since}, {"until", &until}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "%s: %q is not an RFC 3339 time", p.name, s))
				return
			}
			*p.t = t
		}
	}
	boolParam := func(name string) (*bool, *Error) {
		s := q.Get(name)
		if s == "" {
			return nil, nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "%s: %q is not true or false", name, s)
		}
		return &b, nil
	}
	poolHealthy, e := boolParam("pool_healthy")
	if e != nil {
		writeError(w, e)
		return
	}
	originHealthy, e := boolParam("origin_healthy")
	if e != nil {
		writeError(w, e)
		return
	}
	poolID := first(q.Get("pool_id"), q.Get("identifier"))
	poolName, originName := q.Get("pool_name"), q.Get("origin_name")

	all := h.opts.Backend.Events()
	out := make([]Event, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		ev := all[i]
		switch {
		case !since.IsZero() && ev.Timestamp.Before(since),
			!until.IsZero() && ev.Timestamp.After(until),
			poolID != "" && ev.Pool.ID != poolID,
			poolName != "" && ev.Pool.Name != poolName,
			poolHealthy != nil && ev.Pool.Healthy != *poolHealthy:
			continue
		}
		if originName != "" || originHealthy != nil {
			hit := false
			for _, o := range ev.Origins {
				if (originName == "" || o.Name == originName) && (originHealthy == nil || o.Healthy == *originHealthy) {
					hit = true
				}
			}
			if !hit {
				continue
			}
		}
		if ev.Origins == nil {
			ev.Origins = []EventOrigin{}
		}
		out = append(out, ev)
	}
	page, ri, e := paginate(r, out)
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, http.StatusOK, page, ri, nil)
}

// ---- zones ----

// zoneJSON is the part of Cloudflare's zone object that means something for lbdns.
type zoneJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Status      string      `json:"status"`
	Paused      bool        `json:"paused"`
	Type        string      `json:"type"`
	NameServers []string    `json:"name_servers"`
	Permissions []string    `json:"permissions"`
	Account     accountJSON `json:"account"`
}

type accountJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (h *Handler) zoneJSON(z Zone) zoneJSON {
	ns := z.NameServers
	if ns == nil {
		ns = []string{}
	}
	return zoneJSON{
		ID: z.ID, Name: z.Name, Status: "active", Type: "full",
		NameServers: ns, Permissions: []string{"#zone:read", "#load_balancer:read", "#load_balancer:edit"},
		Account: accountJSON{ID: h.opts.AccountID, Name: "lbdns"},
	}
}

// listZones serves GET /zones, optionally filtered by ?name= (exact, case-insensitive), as
// cloudflare-go's ZoneIDByName and ListZones call it.
func (h *Handler) listZones(w http.ResponseWriter, r *http.Request) {
	name := model.NormalizeName(r.URL.Query().Get("name"))
	var out []zoneJSON
	for _, z := range h.opts.Backend.Zones() {
		if name == "" || z.Name == name {
			out = append(out, h.zoneJSON(z))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []zoneJSON{}
	}
	page, ri, e := paginate(r, out)
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, http.StatusOK, page, ri, nil)
}

func (h *Handler) getZone(w http.ResponseWriter, r *http.Request) {
	z, e := h.zone(r)
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, http.StatusOK, h.zoneJSON(z), nil, nil)
}
