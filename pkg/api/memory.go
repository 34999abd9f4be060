package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/region"
	"github.com/lbdns/lbdns/pkg/store"
)

// MemoryConfig configures NewMemoryBackend. Store and Publish are required.
type MemoryConfig struct {
	Store *store.Store  // API-created objects live here
	File  model.Catalog // objects of the config file (read-only through the API), as loaded
	Zones []Zone        // served zones (ZonesFromNames)
	// Publish makes a catalog live: build the serving snapshot and swap it in. It is called
	// after the change is on disk; an error rolls the store back and fails the write.
	Publish func(model.Catalog) error
	Health  func() Health                                                                  // optional: `healthy` flags and pool health
	Probe   func(ctx context.Context, mon model.Monitor, p model.Pool) (PoolHealth, error) // optional: previews
	Events  func() []Event                                                                 // optional: health events, oldest first
	Regions *region.Table                                                                  // optional: the region table with config overrides
	Log     zerolog.Logger
}

// MemoryBackend is the Backend lbdns runs with: the current state in memory (read without
// locks), writes serialised by a mutex, persisted to the store and then published.
type MemoryBackend struct {
	cfg   MemoryConfig
	mu    sync.Mutex // one writer at a time: persist + publish is one step
	state atomic.Pointer[State]
	zones atomic.Pointer[[]Zone]
}

// NewMemoryBackend loads the stored objects and combines them with the file's. A stored
// object whose id is also declared in the file is shadowed by the file's (and logged). The
// combined catalog is normalised and resolved but not validated or published: the caller
// validates and publishes State().Catalog at start-up.
func NewMemoryBackend(cfg MemoryConfig) (*MemoryBackend, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: memory backend without a store")
	}
	if cfg.Publish == nil {
		return nil, errors.New("api: memory backend without a publish function")
	}
	stored, err := cfg.Store.Load()
	if err != nil {
		return nil, err
	}
	b := &MemoryBackend{cfg: cfg}
	st, err := b.combine(cfg.File, stored)
	if err != nil {
		return nil, err
	}
	b.state.Store(&st)
	zones := slices.Clone(cfg.Zones)
	b.zones.Store(&zones)
	return b, nil
}

// combine builds the state from the file's objects and the stored ones.
func (b *MemoryBackend) combine(file, stored model.Catalog) (State, error) {
	st := State{File: map[Ref]bool{}}
	// Normalize and Resolve write through pointers and into slices: work on a copy so the
	// caller's file catalog stays as it is.
	cat, err := deepCopy(file)
	if err != nil {
		return State{}, fmt.Errorf("copying the config file's objects: %w", err)
	}
	cat.Normalize()
	for _, m := range cat.Monitors {
		st.File[Ref{model.KindMonitor, m.ID}] = true
	}
	for _, g := range cat.MonitorGroups {
		st.File[Ref{model.KindMonitorGroup, g.ID}] = true
	}
	for _, p := range cat.Pools {
		st.File[Ref{model.KindPool, p.ID}] = true
	}
	for _, lb := range cat.LoadBalancers {
		st.File[Ref{model.KindLoadBalancer, lb.ID}] = true
	}
	shadow := func(kind, id string) bool {
		if st.File[Ref{kind, id}] {
			b.cfg.Log.Warn().Str("kind", kind).Str("id", id).Msg("an object created through the API has the id of a config-file object: the file's wins")
			return true
		}
		return false
	}
	sortStored(&stored)
	for _, m := range stored.Monitors {
		if !shadow(model.KindMonitor, m.ID) {
			cat.Monitors = append(cat.Monitors, m)
		}
	}
	for _, g := range stored.MonitorGroups {
		if !shadow(model.KindMonitorGroup, g.ID) {
			cat.MonitorGroups = append(cat.MonitorGroups, g)
		}
	}
	for _, p := range stored.Pools {
		if !shadow(model.KindPool, p.ID) {
			cat.Pools = append(cat.Pools, p)
		}
	}
	for _, lb := range stored.LoadBalancers {
		if !shadow(model.KindLoadBalancer, lb.ID) {
			cat.LoadBalancers = append(cat.LoadBalancers, lb)
		}
	}
	cat.Normalize()
	cat.Resolve() // problems are reported by the caller's Validate
	nonNil(&cat)
	st.Catalog = cat
	return st, nil
}

func nonNil(c *model.Catalog) {
	if c.Monitors == nil {
		c.Monitors = []model.Monitor{}
	}
	if c.MonitorGroups == nil {
		c.MonitorGroups = []model.MonitorGroup{}
	}
	if c.Pools == nil {
		c.Pools = []model.Pool{}
	}
	if c.LoadBalancers == nil {
		c.LoadBalancers = []model.LoadBalancer{}
	}
}

// sortStored orders stored objects by creation time, then id (the store returns id order).
func sortStored(c *model.Catalog) {
	slices.SortStableFunc(c.Monitors, func(a, b model.Monitor) int { return cmpCreated(a.CreatedOn, b.CreatedOn, a.ID, b.ID) })
	slices.SortStableFunc(c.MonitorGroups, func(a, b model.MonitorGroup) int { return cmpCreated(a.CreatedOn, b.CreatedOn, a.ID, b.ID) })
	slices.SortStableFunc(c.Pools, func(a, b model.Pool) int { return cmpCreated(a.CreatedOn, b.CreatedOn, a.ID, b.ID) })
	slices.SortStableFunc(c.LoadBalancers, func(a, b model.LoadBalancer) int { return cmpCreated(a.CreatedOn, b.CreatedOn, a.ID, b.ID) })
}

// State implements Backend.
func (b *MemoryBackend) State() State { return *b.state.Load() }

// Zones implements Backend.
func (b *MemoryBackend) Zones() []Zone { return *b.zones.Load() }

// Health implements Backend.
func (b *MemoryBackend) Health() Health {
	if b.cfg.Health == nil {
		return nil
	}
	return b.cfg.Health()
}

// Probe implements Backend.
func (b *MemoryBackend) Probe(ctx context.Context, mon model.Monitor, p model.Pool) (PoolHealth, error) {
	if b.cfg.Probe == nil {
		return PoolHealth{}, errors.New("previews need the health prober, which is not running")
	}
	return b.cfg.Probe(ctx, mon, p)
}

// Events implements Backend.
func (b *MemoryBackend) Events() []Event {
	if b.cfg.Events == nil {
		return nil
	}
	return b.cfg.Events()
}

// Regions implements Backend.
func (b *MemoryBackend) Regions() []region.Region { return b.cfg.Regions.Regions() }

// Update implements Backend: fn runs under the write lock; its change is written to the store
// in one fsync'd transaction, then published; if publishing fails the store is rolled back.
func (b *MemoryBackend) Update(ctx context.Context, fn func(cur State) (Change, error)) (State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.State()
	chg, err := fn(cur)
	if err != nil {
		return cur, err
	}
	if chg.Empty() {
		return cur, nil
	}
	if err := ctx.Err(); err != nil {
		return cur, err
	}
	for _, ref := range touched(chg) {
		if cur.File[ref] {
			return cur, errorf(http.StatusConflict, CodeFromFile, "%s %s is managed by the config file", ref.Kind, ref.ID)
		}
	}
	if err := b.cfg.Store.Update(func(tx *store.Tx) error { return writeChange(tx, chg) }); err != nil {
		return cur, fmt.Errorf("persisting the change: %w", err)
	}
	next := State{Catalog: applyChange(cur.Catalog, chg), File: cur.File}
	nonNil(&next.Catalog)
	if err := b.cfg.Publish(next.Catalog); err != nil {
		undo := inverse(cur.Catalog, chg)
		if rerr := b.cfg.Store.Update(func(tx *store.Tx) error { return writeChange(tx, undo) }); rerr != nil {
			b.cfg.Log.Error().Err(rerr).Msg("rolling back the store after a failed publish failed: the store holds a change that is not served")
		}
		var e *Error
		if errors.As(err, &e) {
			return cur, e
		}
		return cur, fmt.Errorf("publishing the change: %w", err)
	}
	b.state.Store(&next)
	return next, nil
}

// Validate checks the current combined catalog (file and API objects) as the config file is
// checked; the caller reports the problems at start-up, before the first publication.
func (b *MemoryBackend) Validate() model.Problems {
	cat := b.State().Catalog
	zones := b.Zones()
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	return cat.Validate(names)
}

// Reload replaces the config-file objects and the zones (SIGHUP). The combined catalog must
// validate; then it is published and becomes the state. On error nothing changes.
func (b *MemoryBackend) Reload(file model.Catalog, zones []Zone) error {
	return b.ReloadWith(file, zones, b.cfg.Publish)
}

// ReloadWith is Reload publishing through publish instead of the configured hook (a reload
// publishes with its new zones and config, which become current only if that succeeds).
func (b *MemoryBackend) ReloadWith(file model.Catalog, zones []Zone, publish func(model.Catalog) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	stored, err := b.cfg.Store.Load()
	if err != nil {
		return err
	}
	st, err := b.combine(file, stored)
	if err != nil {
		return err
	}
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	if err := st.Catalog.Validate(names).Err(); err != nil {
		return fmt.Errorf("the config file and the objects created through the API do not fit together: %w", err)
	}
	if err := publish(st.Catalog); err != nil {
		return err
	}
	zs := slices.Clone(zones)
	b.zones.Store(&zs)
	b.state.Store(&st)
	return nil
}

func touched(chg Change) []Ref {
	var out []Ref
	for _, m := range chg.Put.Monitors {
		out = append(out, Ref{model.KindMonitor, m.ID})
	}
	for _, g := range chg.Put.MonitorGroups {
		out = append(out, Ref{model.KindMonitorGroup, g.ID})
	}
	for _, p := range chg.Put.Pools {
		out = append(out, Ref{model.KindPool, p.ID})
	}
	for _, lb := range chg.Put.LoadBalancers {
		out = append(out, Ref{model.KindLoadBalancer, lb.ID})
	}
	return append(out, chg.Delete...)
}

func writeChange(tx *store.Tx, chg Change) error {
	for _, m := range chg.Put.Monitors {
		if err := tx.PutMonitor(m); err != nil {
			return err
		}
	}
	for _, g := range chg.Put.MonitorGroups {
		if err := tx.PutMonitorGroup(g); err != nil {
			return err
		}
	}
	for _, p := range chg.Put.Pools {
		if err := tx.PutPool(p); err != nil {
			return err
		}
	}
	for _, lb := range chg.Put.LoadBalancers {
		if err := tx.PutLoadBalancer(lb); err != nil {
			return err
		}
	}
	for _, ref := range chg.Delete {
		var err error
		switch ref.Kind {
		case model.KindMonitor:
			err = tx.DeleteMonitor(ref.ID)
		case model.KindMonitorGroup:
			err = tx.DeleteMonitorGroup(ref.ID)
		case model.KindPool:
			err = tx.DeletePool(ref.ID)
		case model.KindLoadBalancer:
			err = tx.DeleteLoadBalancer(ref.ID)
		default:
			err = fmt.Errorf("unknown kind %q", ref.Kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inverse returns the change that undoes chg on top of the catalog before it (cur).
func inverse(cur model.Catalog, chg Change) Change {
	var undo Change
	restore := func(ref Ref) {
		switch ref.Kind {
		case model.KindMonitor:
			if o := monitors.find(&cur, ref.ID); o != nil {
				undo.Put.Monitors = append(undo.Put.Monitors, *o)
				return
			}
		case model.KindMonitorGroup:
			if o := monitorGroups.find(&cur, ref.ID); o != nil {
				undo.Put.MonitorGroups = append(undo.Put.MonitorGroups, *o)
				return
			}
		case model.KindPool:
			if o := pools.find(&cur, ref.ID); o != nil {
				undo.Put.Pools = append(undo.Put.Pools, *o)
				return
			}
		case model.KindLoadBalancer:
			if o := loadBalancers.find(&cur, ref.ID); o != nil {
				undo.Put.LoadBalancers = append(undo.Put.LoadBalancers, *o)
				return
			}
		}
		undo.Delete = append(undo.Delete, ref)
	}
	for _, ref := range touched(chg) {
		restore(ref)
	}
	return undo
}
