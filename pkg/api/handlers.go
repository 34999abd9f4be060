package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdns/lbdns/pkg/model"
)

// hooks adapt the generic object handlers to one kind.
type hooks[T any] struct {
	k kind[T]
	// scope returns which objects the request's path can see (load balancers: those of the
	// zone in the path), or a 404 for an unknown zone. nil: all.
	scope func(h *Handler, r *http.Request) (func(*T) bool, *Error)
	// filter applies list query parameters (pools: ?monitor=).
	filter func(r *http.Request, o *T) bool
	// prepare finishes an object about to be written (old is nil on create).
	prepare func(h *Handler, r *http.Request, cur State, old, o *T) *Error
	// referrers lists the objects that refer to id, as titles.
	referrers func(c *model.Catalog, id string) []string
	// decorate adds read-only fields to a reply (healthy, zone_name).
	decorate func(h *Handler, st State, o T) T
	// merge adjusts the fields of a PATCH (stored object overlaid with the body) before they
	// are decoded: monitors drop a method that does not follow a changed type.
	merge func(old *T, body, fields map[string]json.RawMessage)
}

func (hk hooks[T]) visible(h *Handler, r *http.Request) (func(*T) bool, *Error) {
	if hk.scope == nil {
		return func(*T) bool { return true }, nil
	}
	return hk.scope(h, r)
}

func (hk hooks[T]) out(h *Handler, st State, o T) T {
	if hk.decorate == nil {
		return o
	}
	return hk.decorate(h, st, o)
}

func (h *Handler) newID() string {
	if h.opts.NewID != nil {
		return h.opts.NewID()
	}
	return model.NewID()
}

func listObjects[T any](h *Handler, hk hooks[T], w http.ResponseWriter, r *http.Request) {
	vis, e := hk.visible(h, r)
	if e != nil {
		writeError(w, e)
		return
	}
	st := h.opts.Backend.State()
	all := *hk.k.all(&st.Catalog)
	items := make([]T, 0, len(all))
	for i := range all {
		if vis(&all[i]) && (hk.filter == nil || hk.filter(r, &all[i])) {
			items = append(items, all[i])
		}
	}
	page, ri, e := paginate(r, items)
	if e != nil {
		writeError(w, e)
		return
	}
	for i := range page {
		page[i] = hk.out(h, st, page[i])
	}
	writeResult(w, http.StatusOK, page, ri, nil)
}

func getObject[T any](h *Handler, hk hooks[T], w http.ResponseWriter, r *http.Request) {
	vis, e := hk.visible(h, r)
	if e != nil {
		writeError(w, e)
		return
	}
	st := h.opts.Backend.State()
	id := r.PathValue("id")
	o := hk.k.find(&st.Catalog, id)
	if o == nil || !vis(o) {
		writeError(w, notFound(hk.k.label, id))
		return
	}
	writeResult(w, http.StatusOK, hk.out(h, st, *o), nil, nil)
}

func notFound(label, id string) *Error {
	return errorf(http.StatusNotFound, CodeNotFound, "%s %s not found", label, id)
}

func fromFile(title string) *Error {
	return errorf(http.StatusConflict, CodeFromFile, "%s is managed by the config file: change it there and reload", title)
}

func createObject[T any](h *Handler, hk hooks[T], w http.ResponseWriter, r *http.Request) {
	vis, e := hk.visible(h, r)
	if e != nil {
		writeError(w, e)
		return
	}
	_ = vis
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	clean(body)
	obj, e := decodeStrict[T](body)
	if e != nil {
		writeError(w, e)
		return
	}
	id := h.newID()
	now := stamp(h.opts.Now())
	pid, created, modified := hk.k.meta(&obj)
	*pid, *created, *modified = id, now, now
	hk.k.normalize(&obj)
	st, warns, err := h.write(r.Context(), func(cur State) (Change, *Error) {
		if hk.prepare != nil {
			if e := hk.prepare(h, r, cur, nil, &obj); e != nil {
				return Change{}, e
			}
		}
		return putChange(hk.k, obj), nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeResult(w, http.StatusOK, hk.out(h, st, *hk.k.find(&st.Catalog, id)), nil, warns)
}

func putChange[T any](k kind[T], o T) Change {
	var c Change
	all := k.all(&c.Put)
	*all = append(*all, o)
	return c
}

// replaceObject serves PUT (merge=false: the body is the whole object, omitted fields take
// their defaults) and PATCH (merge=true: the body's fields replace the stored ones).
func replaceObject[T any](h *Handler, hk hooks[T], merge bool, w http.ResponseWriter, r *http.Request) {
	vis, e := hk.visible(h, r)
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	body, bodyErr := readBody(r)
	if bodyErr == nil {
		clean(body)
	}
	now := stamp(h.opts.Now())
	st, warns, err := h.write(r.Context(), func(cur State) (Change, *Error) {
		old := hk.k.find(&cur.Catalog, id)
		if old == nil || !vis(old) {
			return Change{}, notFound(hk.k.label, id)
		}
		if cur.FromFile(hk.k.name, id) {
			return Change{}, fromFile(hk.k.title(old))
		}
		if bodyErr != nil {
			return Change{}, bodyErr
		}
		fields := body
		if merge {
			b, err := json.Marshal(old)
			if err != nil {
				return Change{}, errorf(http.StatusInternalServerError, CodeInternal, "%v", err)
			}
			fields = map[string]json.RawMessage{}
			if err := json.Unmarshal(b, &fields); err != nil {
				return Change{}, errorf(http.StatusInternalServerError, CodeInternal, "%v", err)
			}
			clean(fields)
			for k, v := range body {
				fields[k] = v
			}
			if hk.merge != nil {
				hk.merge(old, body, fields)
			}
		}
		obj, e := decodeStrict[T](fields)
		if e != nil {
			return Change{}, e
		}
		_, oldCreated, _ := hk.k.meta(old)
		pid, created, modified := hk.k.meta(&obj)
		*pid, *created, *modified = id, *oldCreated, now
		hk.k.normalize(&obj)
		if hk.prepare != nil {
			if e := hk.prepare(h, r, cur, old, &obj); e != nil {
				return Change{}, e
			}
		}
		return putChange(hk.k, obj), nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeResult(w, http.StatusOK, hk.out(h, st, *hk.k.find(&st.Catalog, id)), nil, warns)
}

func deleteObject[T any](h *Handler, hk hooks[T], w http.ResponseWriter, r *http.Request) {
	vis, e := hk.visible(h, r)
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	_, _, err := h.write(r.Context(), func(cur State) (Change, *Error) {
		old := hk.k.find(&cur.Catalog, id)
		if old == nil || !vis(old) {
			return Change{}, notFound(hk.k.label, id)
		}
		if cur.FromFile(hk.k.name, id) {
			return Change{}, fromFile(hk.k.title(old))
		}
		if hk.referrers != nil {
			if refs := hk.referrers(&cur.Catalog, id); len(refs) > 0 {
				return Change{}, errorf(http.StatusBadRequest, CodeReferenced,
					"%s is still referenced by %s: remove those references first", hk.k.title(old), strings.Join(refs, ", "))
			}
		}
		return Change{Delete: []Ref{{hk.k.name, id}}}, nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeResult(w, http.StatusOK, map[string]string{"id": id}, nil, nil)
}

// ---- pagination ----

// maxPerPage bounds per_page.
const maxPerPage = 1000

// paginate cuts one page out of items. Without per_page the whole list is one page:
// cloudflare-go's List* functions read a single page, so a default page size would silently
// hide objects from them.
func paginate[T any](r *http.Request, items []T) ([]T, *ResultInfo, *Error) {
	q := r.URL.Query()
	num := func(name string, def int) (int, *Error) {
		s := q.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, errorf(http.StatusBadRequest, CodeBadRequest, "%s: %q is not a non-negative integer", name, s)
		}
		return n, nil
	}
	page, e := num("page", 1)
	if e != nil {
		return nil, nil, e
	}
	perPage, e := num("per_page", 0)
	if e != nil {
		return nil, nil, e
	}
	if page == 0 {
		page = 1
	}
	if perPage > maxPerPage {
		return nil, nil, errorf(http.StatusBadRequest, CodeBadRequest, "per_page: %d is above the maximum %d", perPage, maxPerPage)
	}
	total := len(items)
	if perPage == 0 {
		perPage = max(total, 1)
	}
	pages := (total + perPage - 1) / perPage
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	out := make([]T, end-start)
	copy(out, items[start:end])
	return out, &ResultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: total, TotalPages: pages}, nil
}

// ---- references ----

// poolIDsOf lists every pool id a load balancer refers to (default, fallback, geo maps,
// random_steering weights, rule overrides), without duplicates.
func poolIDsOf(lb *model.LoadBalancer) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	geo := func(m map[string][]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(m[k]...)
		}
	}
	weights := func(rs *model.RandomSteering) {
		if rs == nil {
			return
		}
		keys := make([]string, 0, len(rs.PoolWeights))
		for k := range rs.PoolWeights {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		add(keys...)
	}
	add(lb.DefaultPools...)
	add(lb.FallbackPool)
	geo(lb.RegionPools)
	geo(lb.CountryPools)
	geo(lb.PopPools)
	weights(lb.RandomSteering)
	for _, r := range lb.Rules {
		if r == nil {
			continue
		}
		add(r.Overrides.DefaultPools...)
		add(r.Overrides.FallbackPool)
		geo(r.Overrides.RegionPools)
		geo(r.Overrides.CountryPools)
		geo(r.Overrides.PopPools)
		weights(r.Overrides.RandomSteering)
	}
	return out
}

// Reference is one entry of the references endpoints.
type Reference struct {
	ReferenceType string `json:"reference_type"` // "referrer" (refers to this) or "referral" (this refers to)
	ResourceID    string `json:"resource_id"`
	ResourceName  string `json:"resource_name"`
	ResourceType  string `json:"resource_type"` // load_balancer, pool, monitor, monitor_group
}

func poolReferences(c *model.Catalog, id string) []Reference {
	out := []Reference{}
	for i := range c.LoadBalancers {
		lb := &c.LoadBalancers[i]
		for _, pid := range poolIDsOf(lb) {
			if pid == id {
				out = append(out, Reference{"referrer", lb.ID, lb.Name, "load_balancer"})
				break
			}
		}
	}
	if p := pools.find(c, id); p != nil && p.Monitor != "" {
		name := p.Monitor
		if m := monitors.find(c, p.Monitor); m != nil {
			name = monitorName(m)
		}
		out = append(out, Reference{"referral", p.Monitor, name, "monitor"})
	}
	if p := pools.find(c, id); p != nil && p.MonitorGroup != "" {
		name := p.MonitorGroup
		if g := monitorGroups.find(c, p.MonitorGroup); g != nil {
			name = monitorGroupName(g)
		}
		out = append(out, Reference{"referral", p.MonitorGroup, name, "monitor_group"})
	}
	return out
}

func monitorReferences(c *model.Catalog, id string) []Reference {
	out := []Reference{}
	for i := range c.Pools {
		if c.Pools[i].Monitor == id {
			out = append(out, Reference{"referrer", c.Pools[i].ID, c.Pools[i].Name, "pool"})
		}
	}
	for i := range c.MonitorGroups {
		g := &c.MonitorGroups[i]
		for _, m := range g.Members {
			if m.MonitorID == id {
				out = append(out, Reference{"referrer", g.ID, monitorGroupName(g), "monitor_group"})
				break
			}
		}
	}
	return out
}

// monitorGroupReferences lists the pools that use the group (referrers) and the group's
// member monitors (referrals).
func monitorGroupReferences(c *model.Catalog, id string) []Reference {
	out := []Reference{}
	for i := range c.Pools {
		if c.Pools[i].MonitorGroup == id {
			out = append(out, Reference{"referrer", c.Pools[i].ID, c.Pools[i].Name, "pool"})
		}
	}
	if g := monitorGroups.find(c, id); g != nil {
		for _, m := range g.Members {
			name := m.MonitorID
			if mon := monitors.find(c, m.MonitorID); mon != nil {
				name = monitorName(mon)
			}
			out = append(out, Reference{"referral", m.MonitorID, name, "monitor"})
		}
	}
	return out
}

func monitorGroupName(g *model.MonitorGroup) string { return displayName(g.Name, g.Description) }

func monitorGroupReferrers(c *model.Catalog, id string) []string {
	var out []string
	for _, ref := range monitorGroupReferences(c, id) {
		if ref.ReferenceType == "referrer" {
			out = append(out, "pool "+strconv.Quote(ref.ResourceName)+" ("+ref.ResourceID+")")
		}
	}
	return out
}

func monitorName(m *model.Monitor) string { return displayName(m.Name, m.Description) }

// displayName is an object's name (config file), else its description (API objects have none).
func displayName(name, description string) string {
	if name != "" {
		return name
	}
	return description
}

func poolReferrers(c *model.Catalog, id string) []string {
	var out []string
	for _, ref := range poolReferences(c, id) {
		if ref.ReferenceType == "referrer" {
			out = append(out, "load balancer "+ref.ResourceName+" ("+ref.ResourceID+")")
		}
	}
	return out
}

func monitorReferrers(c *model.Catalog, id string) []string {
	var out []string
	for _, ref := range monitorReferences(c, id) {
		kind := "pool"
		if ref.ResourceType == "monitor_group" {
			kind = "monitor group"
		}
		out = append(out, kind+" "+strconv.Quote(ref.ResourceName)+" ("+ref.ResourceID+")")
	}
	return out
}
