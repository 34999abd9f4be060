package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// kind describes one object type for the generic handlers.
type kind[T any] struct {
	name  string // model.KindMonitor, …
	label string // "monitor", "pool", "load balancer" (messages)
	all   func(c *model.Catalog) *[]T
	// meta gives access to the common read-only fields.
	meta      func(o *T) (id *string, created, modified **time.Time)
	normalize func(o *T)
	// title names an object in messages: `pool "eu" (id)`.
	title func(o *T) string
}

var monitors = kind[model.Monitor]{
	name: model.KindMonitor, label: "monitor",
	all: func(c *model.Catalog) *[]model.Monitor { return &c.Monitors },
	meta: func(o *model.Monitor) (*string, **time.Time, **time.Time) {
		return &o.ID, &o.CreatedOn, &o.ModifiedOn
	},
	normalize: model.NormalizeMonitor,
	title:     func(o *model.Monitor) string { return describedTitle("monitor", o.Name, o.Description, o.ID) },
}

var monitorGroups = kind[model.MonitorGroup]{
	name: model.KindMonitorGroup, label: "monitor group",
	all: func(c *model.Catalog) *[]model.MonitorGroup { return &c.MonitorGroups },
	meta: func(o *model.MonitorGroup) (*string, **time.Time, **time.Time) {
		return &o.ID, &o.CreatedOn, &o.ModifiedOn
	},
	normalize: model.NormalizeMonitorGroup,
	title: func(o *model.MonitorGroup) string {
		return describedTitle("monitor group", o.Name, o.Description, o.ID)
	},
}

var pools = kind[model.Pool]{
	name: model.KindPool, label: "pool",
	all: func(c *model.Catalog) *[]model.Pool { return &c.Pools },
	meta: func(o *model.Pool) (*string, **time.Time, **time.Time) {
		return &o.ID, &o.CreatedOn, &o.ModifiedOn
	},
	normalize: model.NormalizePool,
	title:     func(o *model.Pool) string { return fmt.Sprintf("pool %q (%s)", o.Name, o.ID) },
}

var loadBalancers = kind[model.LoadBalancer]{
	name: model.KindLoadBalancer, label: "load balancer",
	all: func(c *model.Catalog) *[]model.LoadBalancer { return &c.LoadBalancers },
	meta: func(o *model.LoadBalancer) (*string, **time.Time, **time.Time) {
		return &o.ID, &o.CreatedOn, &o.ModifiedOn
	},
	normalize: model.NormalizeLoadBalancer,
	title:     func(o *model.LoadBalancer) string { return fmt.Sprintf("load balancer %s (%s)", o.Name, o.ID) },
}

// describedTitle names an object that may have a name (config file) or only a description
// (API): `monitor "web" (id)`, or `monitor id` with neither.
func describedTitle(label, name, description, id string) string {
	if name = displayName(name, description); name == "" {
		return label + " " + id
	}
	return fmt.Sprintf("%s %q (%s)", label, name, id)
}

func (k kind[T]) id(o *T) string { id, _, _ := k.meta(o); return *id }

// find returns the object with id in c, or nil.
func (k kind[T]) find(c *model.Catalog, id string) *T {
	list := *k.all(c)
	for i := range list {
		if k.id(&list[i]) == id {
			return &list[i]
		}
	}
	return nil
}

// ---- reading bodies ----

// readOnly are the top-level fields a body may carry but the API sets itself (ruling 31).
// Monitor groups use Cloudflare's created_at/updated_at.
var readOnly = []string{"id", "created_on", "modified_on", "created_at", "updated_at", "healthy", "zone_name", "disabled_at"}

// accepted but ignored: fields cloudflare-go may send that lbdns has no use for.
var ignored = []string{"tunnel_id"}

func readBody(r *http.Request) (map[string]json.RawMessage, *Error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeBadRequest, "the body is larger than %d bytes", maxBody)
		}
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "the body is empty: send a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "the body is not a JSON object: %s", jsonMsg(err))
	}
	if m == nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "the body is not a JSON object")
	}
	return m, nil
}

// clean drops read-only, ignored and null fields (null means omitted, ruling 31) and the
// read-only fields of origins.
func clean(m map[string]json.RawMessage) {
	for k, v := range m {
		if slices.Contains(readOnly, k) || slices.Contains(ignored, k) || isNull(v) {
			delete(m, k)
		}
	}
	cleanList(m, "origins", "healthy", "disabled_at")
	cleanList(m, "members", "created_at", "updated_at")
}

// cleanList drops the read-only and null fields of the objects of list field (origins of a
// pool, members of a monitor group).
func cleanList(m map[string]json.RawMessage, field string, readOnly ...string) {
	raw, ok := m[field]
	if !ok {
		return
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return // decodeStrict reports the shape
	}
	for _, o := range items {
		for k, v := range o {
			if slices.Contains(readOnly, k) || isNull(v) {
				delete(o, k)
			}
		}
	}
	if b, err := json.Marshal(items); err == nil {
		m[field] = b
	}
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// decodeStrict turns a cleaned field map into an object; unknown fields and wrong types are
// 400s naming the field.
func decodeStrict[T any](m map[string]json.RawMessage) (T, *Error) {
	var out T
	b, err := json.Marshal(m)
	if err != nil {
		return out, errorf(http.StatusBadRequest, CodeBadRequest, "%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, errorf(http.StatusBadRequest, CodeInvalid, "%s", fieldMsg(err, badPath(b, reflect.TypeOf(out), "")))
	}
	return out, nil
}

// jsonType names what a Go type takes in JSON terms ("a number", "a list"), not Go's.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// fieldMsg is jsonMsg with the field named by its full path inside the object
// ("origins[1].weight") when badPath found it.
func fieldMsg(err error, path string) string {
	if path == "" {
		return jsonMsg(err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: expected %s, got JSON %s", path, jsonType(te.Type), te.Value)
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return path + ": unknown field"
	}
	return jsonMsg(err)
}

// jsonMsg rewrites encoding/json errors to "field: what is wrong".
func jsonMsg(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return fmt.Sprintf("%s: expected %s, got JSON %s", field, jsonType(te.Type), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return strings.Trim(f, `"`) + ": unknown field"
	}
	if _, rest, ok := strings.Cut(msg, "json: cannot unmarshal "); ok {
		return "cannot decode " + rest
	}
	return strings.TrimPrefix(msg, "json: ")
}

// ---- writing through the backend ----

// write runs build under the backend's write lock, validates the resulting catalog with the
// shared model functions and commits. It returns the new state and the warnings about the
// objects the change writes.
func (h *Handler) write(ctx context.Context, build func(cur State) (Change, *Error)) (State, []string, error) {
	var warnings []string
	st, err := h.opts.Backend.Update(ctx, func(cur State) (Change, error) {
		chg, e := build(cur)
		if e != nil {
			return Change{}, e
		}
		chg, warns, e := validateChange(cur, chg, h.zoneNames())
		if e != nil {
			return Change{}, e
		}
		warnings = warns
		return chg, nil
	})
	return st, warnings, err
}

func (h *Handler) zoneNames() []string {
	zs := h.opts.Backend.Zones()
	names := make([]string, len(zs))
	for i, z := range zs {
		names[i] = z.Name
	}
	return names
}

// applyChange returns a copy of c with chg applied: puts replace objects of the same id in place or
// are appended; deletes remove. The copy shares no slices with c.
func applyChange(c model.Catalog, chg Change) model.Catalog {
	out := model.Catalog{
		Monitors:      applyKind(c.Monitors, chg.Put.Monitors, chg.Delete, monitors),
		MonitorGroups: applyKind(c.MonitorGroups, chg.Put.MonitorGroups, chg.Delete, monitorGroups),
		Pools:         applyKind(c.Pools, chg.Put.Pools, chg.Delete, pools),
		LoadBalancers: applyKind(c.LoadBalancers, chg.Put.LoadBalancers, chg.Delete, loadBalancers),
	}
	return out
}

func applyKind[T any](list, put []T, del []Ref, k kind[T]) []T {
	out := make([]T, 0, len(list)+len(put))
	for i := range list {
		if slices.Contains(del, Ref{k.name, k.id(&list[i])}) {
			continue
		}
		out = append(out, list[i])
	}
	for _, p := range put {
		replaced := false
		for i := range out {
			if k.id(&out[i]) == k.id(&p) {
				out[i] = p
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

// problemKey identifies a problem independently of object positions.
type problemKey struct {
	ref      Ref
	sub, msg string
	warning  bool
}

// locate maps a catalog path ("pools[2].origins[0].weight") to the object and the path inside
// it ("origins[0].weight").
func locate(c *model.Catalog, path string) (Ref, string, bool) {
	for _, kd := range []struct {
		prefix, kind string
		id           func(i int) (string, bool)
	}{
		{"monitors[", model.KindMonitor, func(i int) (string, bool) {
			if i < len(c.Monitors) {
				return c.Monitors[i].ID, true
			}
			return "", false
		}},
		{"monitor_groups[", model.KindMonitorGroup, func(i int) (string, bool) {
			if i < len(c.MonitorGroups) {
				return c.MonitorGroups[i].ID, true
			}
			return "", false
		}},
		{"pools[", model.KindPool, func(i int) (string, bool) {
			if i < len(c.Pools) {
				return c.Pools[i].ID, true
			}
			return "", false
		}},
		{"load_balancers[", model.KindLoadBalancer, func(i int) (string, bool) {
			if i < len(c.LoadBalancers) {
				return c.LoadBalancers[i].ID, true
			}
			return "", false
		}},
	} {
		rest, ok := strings.CutPrefix(path, kd.prefix)
		if !ok {
			continue
		}
		num, rest, ok := strings.Cut(rest, "]")
		if !ok {
			return Ref{}, "", false
		}
		var i int
		if _, err := fmt.Sscanf(num, "%d", &i); err != nil {
			return Ref{}, "", false
		}
		id, ok := kd.id(i)
		if !ok {
			return Ref{}, "", false
		}
		return Ref{kd.kind, id}, strings.TrimPrefix(rest, "."), true
	}
	return Ref{}, "", false
}

func keyed(c *model.Catalog, ps model.Problems) []problemKey {
	out := make([]problemKey, 0, len(ps))
	for _, p := range ps {
		ref, sub, ok := locate(c, p.Path)
		if !ok {
			sub = p.Path
		}
		out = append(out, problemKey{ref: ref, sub: sub, msg: p.Msg, warning: p.Warning})
	}
	return out
}

// validateChange applies chg to cur, resolves references by name to ids (so API objects may
// refer to file objects by name), and validates the whole catalog exactly as the config file
// is validated. Errors that the change introduces are a 400 naming the field (the path inside
// the written object, or the other object's title and path). It returns the change with its
// objects resolved, and the warnings about the written objects.
func validateChange(cur State, chg Change, zones []string) (Change, []string, *Error) {
	// Resolve writes into slices and maps that the published state shares: work on a copy.
	next, err := deepCopy(applyChange(cur.Catalog, chg))
	if err != nil {
		return Change{}, nil, errorf(http.StatusInternalServerError, CodeInternal, "copying the catalog: %v", err)
	}
	probs := next.Resolve()
	probs.Add(next.Validate(zones))

	// The resolved versions of what is written.
	var resolved model.Catalog
	written := map[Ref]bool{}
	for _, m := range chg.Put.Monitors {
		resolved.Monitors = append(resolved.Monitors, *monitors.find(&next, m.ID))
		written[Ref{model.KindMonitor, m.ID}] = true
	}
	for _, g := range chg.Put.MonitorGroups {
		resolved.MonitorGroups = append(resolved.MonitorGroups, *monitorGroups.find(&next, g.ID))
		written[Ref{model.KindMonitorGroup, g.ID}] = true
	}
	for _, p := range chg.Put.Pools {
		resolved.Pools = append(resolved.Pools, *pools.find(&next, p.ID))
		written[Ref{model.KindPool, p.ID}] = true
	}
	for _, lb := range chg.Put.LoadBalancers {
		resolved.LoadBalancers = append(resolved.LoadBalancers, *loadBalancers.find(&next, lb.ID))
		written[Ref{model.KindLoadBalancer, lb.ID}] = true
	}
	chg.Put = resolved

	old := map[problemKey]bool{}
	for _, k := range keyed(&cur.Catalog, cur.Catalog.Validate(zones)) {
		old[k] = true
	}
	var errs, warns []string
	seen := map[problemKey]bool{}
	for _, k := range keyed(&next, probs) {
		if seen[k] {
			continue
		}
		seen[k] = true
		mine := written[k.ref]
		k.msg = catalogPathsToTitles(&next, k.msg)
		if k.warning {
			if mine {
				warns = append(warns, joinPath(k.sub, k.msg))
			}
			continue
		}
		if !mine && old[k] {
			continue // an error that was there before this change is not this change's fault
		}
		if mine {
			errs = append(errs, joinPath(k.sub, k.msg))
		} else {
			errs = append(errs, joinPath(titleOf(&next, k.ref)+": "+k.sub, k.msg))
		}
	}
	if len(errs) > 0 {
		return Change{}, nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Msgs: errs}
	}
	return chg, warns, nil
}

// catalogPath matches a position in the catalog ("load_balancers[3]", "pools[0].name") inside a
// message of pkg/model.
var catalogPath = regexp.MustCompile(`\b(monitors|monitor_groups|pools|load_balancers)\[\d+\](\.[A-Za-z0-9_.\[\]]*[A-Za-z0-9_\]])?`)

// catalogPathsToTitles replaces catalog positions in a validation message, which mean nothing
// to an API client (the API has no catalog order), with the title of the object there:
// "(also load_balancers[1])" becomes "(also load balancer www.example.com (id))".
func catalogPathsToTitles(c *model.Catalog, msg string) string {
	return catalogPath.ReplaceAllStringFunc(msg, func(m string) string {
		ref, sub, ok := locate(c, m)
		if !ok {
			return m
		}
		t := titleOf(c, ref)
		if sub != "" {
			t += " " + sub
		}
		return t
	})
}

func joinPath(path, msg string) string {
	path = strings.TrimSuffix(path, ": ")
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

func titleOf(c *model.Catalog, ref Ref) string {
	switch ref.Kind {
	case model.KindMonitor:
		if o := monitors.find(c, ref.ID); o != nil {
			return monitors.title(o)
		}
	case model.KindMonitorGroup:
		if o := monitorGroups.find(c, ref.ID); o != nil {
			return monitorGroups.title(o)
		}
	case model.KindPool:
		if o := pools.find(c, ref.ID); o != nil {
			return pools.title(o)
		}
	case model.KindLoadBalancer:
		if o := loadBalancers.find(c, ref.ID); o != nil {
			return loadBalancers.title(o)
		}
	}
	return ref.Kind + " " + ref.ID
}

// stamp returns now in UTC with microsecond precision and a non-zero fraction, so timestamps
// always print with fractional seconds as Cloudflare's do.
func stamp(now time.Time) *time.Time {
	t := now.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		t = t.Add(time.Microsecond)
	}
	return &t
}

// cmpCreated orders by creation time (unset first), then id.
func cmpCreated(a, b *time.Time, ida, idb string) int {
	var ta, tb time.Time
	if a != nil {
		ta = *a
	}
	if b != nil {
		tb = *b
	}
	if c := ta.Compare(tb); c != 0 {
		return c
	}
	return strings.Compare(ida, idb)
}

// deepCopy returns a copy of c that shares no slices, maps or pointers with it.
func deepCopy(c model.Catalog) (model.Catalog, error) {
	var out model.Catalog
	b, err := json.Marshal(c)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}
