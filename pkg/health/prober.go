package health

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
)

// Scheduling and publication defaults.
const (
	DefaultMaxConcurrency = 256  // probes in flight at once
	DefaultEventHistory   = 1000 // events kept for the events API
	DefaultUserAgent      = "lbdns-health-check/1.0"
	// metaEvery bounds how often a View is published for RTT and reason changes alone (state
	// changes publish at once): dynamic_latency reads RTTs, but rebuilding the serving
	// snapshot on every probe would cost more than it brings.
	metaEvery = 5 * time.Second
	// coalesce lets a burst of state changes (the first round) become one View.
	coalesce = 20 * time.Millisecond
)

// Options configure a Prober. Zero values get the defaults named.
type Options struct {
	Log           zerolog.Logger
	Registerer    prometheus.Registerer // nil: metrics are kept but not registered
	Now           func() time.Time      // timestamps of results and events; default time.Now
	Rand          rand.Source           // scheduling jitter; default a random PCG
	DataDir       string                // "": no state file; else DataDir/health.json
	UserAgent     string                // product token in the probe User-Agent; default DefaultUserAgent
	Notifications []Notification
	Resolver      Resolver // hostname origins; default net.DefaultResolver
	// MaxConcurrency bounds the probes in flight; default DefaultMaxConcurrency.
	MaxConcurrency int
	// Region is this instance's probing region (server.pop.region, ruling 13). Alone, an
	// instance's verdict is final, so it is recorded in logs only.
	Region       string
	EventHistory int // default DefaultEventHistory
}

// Resolver resolves hostname origins (*net.Resolver satisfies it).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Prober runs the monitors of a catalog and publishes health Views.
type Prober struct {
	log      zerolog.Logger
	now      func() time.Time
	product  string
	resolver Resolver
	maxConc  int
	dataDir  string
	region   string
	met      *metrics
	notify   *notifier
	unit     time.Duration // one second of interval; tests shrink it

	icmpOnce sync.Once
	icmp     int
	pingID   uint16

	view      atomic.Pointer[View]
	ready     chan struct{}
	readyOne  sync.Once
	pubKick   chan struct{}
	schedKick chan struct{}
	saveKick  chan struct{}

	pubMu       sync.Mutex
	mu          sync.Mutex
	rnd         *rand.Rand
	targets     map[tkey]*target
	pools       []*poolDef
	queue       targetHeap
	restored    map[tkey]savedTarget
	transitions []transition
	dirty       bool // something a View shows changed
	urgent      bool // a state changed or the catalog did
	catChanged  bool
	poolMemo    map[string]poolMemo
	history     []Event
	historyMax  int
	eventID     int64
	gen         uint64
	onChange    []func(*View)
	running     bool
}

type tkey struct {
	monitor, address string
	port             uint16
	host             string
}

// target is one distinct probe: (monitor, origin address, port, Host). Pools that share an
// origin with the same monitor share its target and its probes.
type target struct {
	key       tkey
	spec      *spec
	ua        string
	tr        track
	next      time.Time
	index     int // in the heap; -1 when not queued
	inFlight  bool
	removed   bool
	probed    bool // at least one result since start
	firstPool string
	rush      bool // the monitor changed while a probe was in flight
}

type poolDef struct {
	id, name  string
	enabled   bool
	monitored bool
	configErr bool
	min       int
	filter    *model.NotificationFilter
	origins   []model.Origin
	targets   []*target // nil for origins that are not probed (and in monitor group pools)

	// Monitor group pools (group != nil): members[i][j] is the target of origin i probed by
	// group member j (nil for disabled members and origins). gprev and gchanged are the
	// aggregated state of each origin as last published and when it last changed: origin events
	// come from their changes, not from the members' targets.
	group    []memberDef
	members  [][]*target
	gprev    []State
	gchanged []time.Time
}

// memberDef is one member of a pool's monitor group.
type memberDef struct {
	label          string // the monitor's name, description or id (reasons)
	enabled        bool
	monitoringOnly bool
	mustBeHealthy  bool
}

type poolMemo struct {
	healthy bool
	state   PoolState
	changed time.Time
	// verdict is whether the pool had a verdict (a state other than PoolUnknown) since it
	// was last unmonitored, and vhealthy its healthy flag then: pool events follow verdicts, so
	// Critical → unknown (an origin added) → Critical makes no second event.
	verdict, vhealthy bool
}

type transition struct {
	t    *target
	from State
	to   State
	at   time.Time
}

// New returns a Prober; it probes nothing until Update and Run.
func New(opts Options) *Prober {
	p := &Prober{
		log:        opts.Log,
		now:        opts.Now,
		product:    opts.UserAgent,
		resolver:   opts.Resolver,
		maxConc:    opts.MaxConcurrency,
		dataDir:    opts.DataDir,
		region:     opts.Region,
		unit:       time.Second,
		ready:      make(chan struct{}),
		pubKick:    make(chan struct{}, 1),
		schedKick:  make(chan struct{}, 1),
		saveKick:   make(chan struct{}, 1),
		targets:    map[tkey]*target{},
		poolMemo:   map[string]poolMemo{},
		historyMax: opts.EventHistory,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.product == "" {
		p.product = DefaultUserAgent
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.maxConc <= 0 {
		p.maxConc = DefaultMaxConcurrency
	}
	if p.historyMax <= 0 {
		p.historyMax = DefaultEventHistory
	}
	src := opts.Rand
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	p.rnd = rand.New(src)
	p.pingID = uint16(p.rnd.Uint32())
	p.met = newMetrics(opts.Registerer)
	p.notify = newNotifier(p.log, opts.Notifications, p.met)
	p.restored = p.load()
	p.view.Store(&View{at: p.now(), pools: map[string]*poolView{}})
	return p
}

// View is the current health View (never nil).
// SetNotifications replaces the webhook receivers (a reload): unchanged ones keep their
// queues, removed ones stop, new ones receive the events from now on.
func (p *Prober) SetNotifications(ns []Notification) { p.notify.set(ns) }

func (p *Prober) View() *View { return p.view.Load() }

// OnChange registers f to be called, in order, after each new View is published. Calls are
// serialised and see Views in order; f should return quickly and must not call Update.
func (p *Prober) OnChange(f func(*View)) {
	p.mu.Lock()
	p.onChange = append(p.onChange, f)
	p.mu.Unlock()
}

// Ready is closed once the first round of probes is in the View, or once the longest
// timeout × (retries + 1) of the monitors passed since Run started, whichever is first
// (ruling 8). Call Update before Run so the first round covers the catalog.
func (p *Prober) Ready() <-chan struct{} { return p.ready }

// Update installs the monitors and pools of cat. Targets that stay (same monitor id, address,
// port and Host) keep their state; a changed monitor is probed again at once. Pools without a
// monitor, disabled pools and disabled origins are not probed. A View reflecting cat is
// published before Update returns.
func (p *Prober) Update(cat *model.Catalog) {
	p.mu.Lock()
	now := time.Now()
	specs := map[string]*spec{}
	for _, m := range cat.Monitors {
		specs[m.ID] = newSpec(m)
	}
	next := map[tkey]*target{}
	// targetFor returns the target probing origin o with s, shared by every pool that probes
	// the same (monitor, address, port, Host).
	targetFor := func(s *spec, o model.Origin, poolID string) *target {
		port := s.portFor(o)
		k := tkey{monitor: s.id, address: o.Address, port: port, host: s.hostFor(o, port)}
		if t := next[k]; t != nil {
			return t
		}
		t := p.targets[k]
		switch {
		case t == nil:
			t = &target{key: k, spec: s, index: -1, next: now, firstPool: poolID}
			t.tr.reason = ReasonNotProbed
			if sv, ok := p.restored[k]; ok {
				t.tr = sv.track()
				delete(p.restored, k) // seeds the first start only
			}
			heap.Push(&p.queue, t)
		case !reflect.DeepEqual(t.spec, s):
			t.spec = s
			if t.index >= 0 {
				t.next = now
				heap.Fix(&p.queue, t.index)
			} else {
				t.rush = true // in flight: probe again as soon as it is back
			}
		}
		t.firstPool = poolID
		t.ua = userAgent(p.product, poolID)
		next[k] = t
		return t
	}
	groups := map[string]*model.MonitorGroup{}
	for i := range cat.MonitorGroups {
		groups[cat.MonitorGroups[i].ID] = &cat.MonitorGroups[i]
	}
	labels := map[string]string{}
	for _, m := range cat.Monitors {
		switch {
		case m.Name != "":
			labels[m.ID] = m.Name
		case m.Description != "":
			labels[m.ID] = m.Description
		default:
			labels[m.ID] = m.ID
		}
	}
	oldPools := map[string]*poolDef{}
	for _, pd := range p.pools {
		oldPools[pd.id] = pd
	}
	pools := make([]*poolDef, 0, len(cat.Pools))
	for _, pl := range cat.Pools {
		pd := &poolDef{
			id:      pl.ID,
			name:    pl.Name,
			enabled: model.Bool(pl.Enabled, true),
			min:     model.DefaultMinimumOrigins,
			filter:  pl.NotificationFilter,
			origins: append([]model.Origin(nil), pl.Origins...),
			targets: make([]*target, len(pl.Origins)),
		}
		if pl.MinimumOrigins != nil {
			pd.min = *pl.MinimumOrigins
		}
		pools = append(pools, pd)
		if !pd.enabled || (pl.Monitor == "" && pl.MonitorGroup == "") {
			continue
		}
		pd.monitored = true
		if pl.Monitor == "" {
			p.updateGroupPool(pd, groups[pl.MonitorGroup], specs, labels, targetFor, oldPools[pd.id])
			continue
		}
		s := specs[pl.Monitor]
		if s == nil {
			pd.configErr = true
			continue
		}
		for i, o := range pl.Origins {
			if !model.Bool(o.Enabled, true) {
				continue
			}
			pd.targets[i] = targetFor(s, o, pl.ID)
		}
	}
	for k, t := range p.targets {
		if next[k] == nil {
			t.removed = true
			if t.index >= 0 {
				heap.Remove(&p.queue, t.index)
			}
		}
	}
	p.targets, p.pools = next, pools
	p.dirty, p.urgent, p.catChanged = true, true, true
	p.mu.Unlock()
	p.publish()
	kick(p.schedKick)
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run probes until ctx is done, then waits for its goroutines, publishes and saves the last
// state. It must be called once.
func (p *Prober) Run(ctx context.Context) {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		panic("health: Run called twice")
	}
	p.running = true
	var longest time.Duration
	for _, t := range p.targets {
		if d := t.spec.timeout * time.Duration(t.spec.retries+1); d > longest {
			longest = d
		}
	}
	n := len(p.targets)
	p.mu.Unlock()
	p.log.Info().Int("targets", n).Str("region", p.region).Msg("health prober started")
	if n == 0 {
		p.readyClose("nothing to probe")
	}

	var wg sync.WaitGroup
	work := make(chan *target)
	for i := 0; i < p.maxConc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				p.runTarget(ctx, t)
			}
		}()
	}
	var bg sync.WaitGroup
	bg.Add(3)
	go func() { defer bg.Done(); p.publisher(ctx, longest) }()
	go func() { defer bg.Done(); p.saver(ctx) }()
	go func() { defer bg.Done(); p.notify.run(ctx) }()

	p.schedule(ctx, work)
	close(work)
	wg.Wait()

	bg.Wait()
	p.publish()
	if err := p.save(); err != nil {
		p.log.Error().Err(err).Msg("saving health state")
	}
	p.log.Info().Msg("health prober stopped")
}

// schedule hands due targets to the workers until ctx is done.
func (p *Prober) schedule(ctx context.Context, work chan<- *target) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*target
	for {
		p.mu.Lock()
		now := time.Now()
		due = due[:0]
		for len(p.queue) > 0 && !p.queue[0].next.After(now) {
			t := heap.Pop(&p.queue).(*target)
			t.inFlight = true
			due = append(due, t)
		}
		wait := time.Hour
		if len(p.queue) > 0 {
			wait = p.queue[0].next.Sub(now)
		}
		p.mu.Unlock()
		for _, t := range due {
			select {
			case work <- t:
			case <-ctx.Done():
				return
			}
		}
		if len(due) > 0 {
			continue // the clock moved while handing out
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.schedKick:
		}
	}
}

// runTarget probes t once, records the result and queues its next probe.
func (p *Prober) runTarget(ctx context.Context, t *target) {
	p.mu.Lock()
	s, k, ua := t.spec, t.key, t.ua
	p.mu.Unlock()
	start := time.Now()
	r := p.probe(ctx, s, k.address, k.port, k.host, ua)
	if ctx.Err() != nil {
		return // stopping: an aborted probe says nothing about the origin
	}
	p.met.probe(s.typ, r, time.Since(start))
	p.record(t, r)
	kick(p.schedKick)
}

// record applies a probe result to t, queues t again and wakes the publisher.
func (p *Prober) record(t *target, r Result) {
	p.mu.Lock()
	now := p.now()
	s := t.spec
	from, changed := t.tr.apply(r, s.up, s.down, now)
	if changed && !t.removed {
		p.transitions = append(p.transitions, transition{t: t, from: from, to: t.tr.state, at: now})
		p.urgent = true
	}
	p.dirty = true
	first := !t.probed
	t.probed = true
	t.inFlight = false
	if !t.removed {
		iv := time.Duration(float64(s.interval) / float64(time.Second) * float64(p.unit))
		wall := time.Now()
		if t.rush {
			t.next, t.rush = wall, false
		} else if first {
			// Spread the second round over the second half of the interval, so the start-up
			// burst does not repeat every interval.
			t.next = wall.Add(iv/2 + time.Duration(p.rnd.Int64N(int64(iv/2)+1)))
		} else {
			t.next = t.next.Add(iv)
			if t.next.Before(wall) {
				t.next = wall.Add(time.Duration(p.rnd.Int64N(int64(iv/10) + 1)))
			}
		}
		if t.index >= 0 {
			heap.Fix(&p.queue, t.index) // recorded without the scheduler (tests, previews)
		} else {
			heap.Push(&p.queue, t)
		}
	}
	urgent := p.urgent || (first && !p.isReady())
	p.mu.Unlock()
	if urgent {
		kick(p.pubKick)
	}
}

func (p *Prober) isReady() bool {
	select {
	case <-p.ready:
		return true
	default:
		return false
	}
}

// publisher publishes Views: promptly after state changes, every metaEvery for RTTs alone,
// and closes Ready per ruling 8.
func (p *Prober) publisher(ctx context.Context, readyAfter time.Duration) {
	readyTimer := time.NewTimer(readyAfter)
	defer readyTimer.Stop()
	meta := time.NewTicker(metaEvery)
	defer meta.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-readyTimer.C:
			p.publish()
			if p.readyClose("timeout") {
				continue
			}
		case <-meta.C:
		case <-p.pubKick:
			time.Sleep(coalesce)
		}
		p.publish() // closes Ready once the View holds the whole first round
	}
}

// firstRoundLocked reports whether Run started and every target has a result since.
func (p *Prober) firstRoundLocked() bool {
	if !p.running {
		return false
	}
	for _, t := range p.targets {
		if !t.probed {
			return false
		}
	}
	return true
}

func (p *Prober) readyClose(why string) bool {
	closed := false
	p.readyOne.Do(func() {
		p.log.Info().Str("why", why).Msg("health ready")
		close(p.ready)
		closed = true
	})
	return closed
}

// publish builds a View when something changed, stores it, and then logs, counts and
// notifies the events and calls the OnChange callbacks. Once Run started, it also closes
// Ready when the first round is done (ruling 8): that is decided in the critical section that
// builds the View, and Ready is closed only after the View is stored, so whoever sees Ready
// closed reads a View with every first-round result. Deciding it after the View is built lets
// a result recorded in between close Ready while the View still shows that origin unknown.
func (p *Prober) publish() {
	p.pubMu.Lock() // one publication at a time: callbacks see Views in order, never concurrently
	defer p.pubMu.Unlock()
	p.mu.Lock()
	ready := !p.isReady() && p.firstRoundLocked()
	if !p.dirty {
		// The stored View already shows the current state.
		p.mu.Unlock()
		if ready {
			p.readyClose("first round done")
		}
		return
	}
	v := p.buildLocked()
	evs := p.eventsLocked(v)
	v.events = append([]Event(nil), p.history...)
	stateChanged := p.urgent
	catChanged := p.catChanged
	p.dirty, p.urgent, p.catChanged = false, false, false
	p.view.Store(v)
	cbs := append([]func(*View){}, p.onChange...)
	p.mu.Unlock()

	p.met.view(v, catChanged)
	for i := range evs {
		p.logEvent(&evs[i])
		p.notify.enqueue(&evs[i], p.filterOf(v, evs[i].Pool.ID))
	}
	for _, f := range cbs {
		f(v)
	}
	if ready {
		p.readyClose("first round done")
	}
	if stateChanged {
		kick(p.saveKick)
	}
}

func (p *Prober) filterOf(v *View, poolID string) *model.NotificationFilter {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pd := range p.pools {
		if pd.id == poolID {
			return pd.filter
		}
	}
	return nil
}

// buildLocked makes the View of the current state.
func (p *Prober) buildLocked() *View {
	p.gen++
	now := p.now()
	v := &View{gen: p.gen, at: now, pools: make(map[string]*poolView, len(p.pools)), order: make([]string, 0, len(p.pools))}
	for _, pd := range p.pools {
		pv := &poolView{id: pd.id, name: pd.name, origins: make([]OriginStatus, len(pd.origins)), addrs: make([]string, len(pd.origins)), names: make([]string, len(pd.origins))}
		st := PoolStatus{Monitored: pd.monitored, Enabled: pd.enabled, MinimumOrigins: pd.min}
		known, judged := 0, 0 // monitored enabled origins with a verdict / in all
		var rttSum float64
		rttN := 0
		for i, o := range pd.origins {
			ost := OriginStatus{Enabled: model.Bool(o.Enabled, true)}
			pv.addrs[i], pv.names[i] = o.Address, o.Name
			if ost.Enabled {
				st.EnabledOrigins++
			}
			if pd.group != nil && !pd.configErr && ost.Enabled {
				a := pd.aggregate(i)
				ost.Monitored = true
				judged++
				ost.State, ost.Reason, ost.Code, ost.RTT, ost.LastProbe = a.State, a.Reason, a.Code, a.RTT, a.LastProbe
				ost.Changed = pd.gchanged[i]
				if a.State != pd.gprev[i] {
					ost.Changed = now
				}
				if ost.State != Unknown {
					known++
				}
				if ost.State == Healthy {
					st.HealthyOrigins++
					if a.hasEWMA {
						rttSum += a.ewma
						rttN++
					}
				}
			} else if t := pd.targets[i]; t != nil {
				ost.Monitored = true
				judged++
				ost.State, ost.Reason, ost.Code, ost.RTT = t.tr.state, t.tr.reason, t.tr.code, t.tr.rtt
				ost.Changed, ost.LastProbe = t.tr.changed, t.tr.lastProbe
				if ost.State != Unknown {
					known++
				}
				if ost.State == Healthy {
					st.HealthyOrigins++
					if t.tr.hasEWMA {
						rttSum += t.tr.ewma
						rttN++
					}
				}
			} else if pd.configErr && ost.Enabled {
				ost.Monitored, ost.Reason = true, ReasonConfig
				judged++
			}
			pv.origins[i] = ost
		}
		switch {
		case !pd.monitored:
			st.State, st.Healthy = PoolUnknown, true // health is ignored (steering) and not judged
		case st.HealthyOrigins < pd.min && known < judged && st.HealthyOrigins+judged-known >= pd.min:
			// Not determined yet: the origins still unknown could make the pool healthy. It
			// counts as down (ruling 8), but is not judged Critical, so the start-up round
			// makes no Unhealthy event when a fast failure precedes a slow success.
			st.State = PoolUnknown
		case st.HealthyOrigins < pd.min:
			st.State = PoolCritical
		case st.HealthyOrigins == st.EnabledOrigins:
			st.State, st.Healthy = PoolHealthy, true
		default:
			st.State, st.Healthy = PoolDegraded, true
		}
		if rttN > 0 {
			pv.rttMS, pv.rttOK = rttSum/float64(rttN), true
		}
		// Changed is when the pool's state last changed; eventsLocked moves the memo on.
		st.Changed = now
		if memo, ok := p.poolMemo[pd.id]; ok && memo.state == st.State && memo.healthy == st.Healthy {
			st.Changed = memo.changed
		} else if !ok && st.State == PoolUnknown {
			st.Changed = time.Time{}
		}
		pv.status = st
		v.pools[pd.id] = pv
		v.order = append(v.order, pd.id)
	}
	return v
}

// updateGroupPool sets up the targets of a pool monitored by group g: one per enabled member
// and enabled origin. The aggregated state of each origin carries over from the pool's
// previous definition (same origin name and address), else it starts as the members say, so
// a catalog change alone makes no origin event.
func (p *Prober) updateGroupPool(pd *poolDef, g *model.MonitorGroup, specs map[string]*spec, labels map[string]string,
	targetFor func(*spec, model.Origin, string) *target, old *poolDef) {
	n := len(pd.origins)
	pd.group = []memberDef{}
	pd.members = make([][]*target, n)
	pd.gprev = make([]State, n)
	pd.gchanged = make([]time.Time, n)
	if g == nil {
		pd.configErr = true
		return
	}
	var mspecs []*spec
	for _, m := range g.Members {
		s := specs[m.MonitorID]
		md := memberDef{label: labels[m.MonitorID], enabled: model.Bool(m.Enabled, true), monitoringOnly: m.MonitoringOnly, mustBeHealthy: m.MustBeHealthy}
		if md.label == "" {
			md.label = m.MonitorID
		}
		if s == nil && md.enabled {
			pd.configErr = true
			return
		}
		pd.group = append(pd.group, md)
		mspecs = append(mspecs, s)
	}
	for i, o := range pd.origins {
		pd.members[i] = make([]*target, len(pd.group))
		if !model.Bool(o.Enabled, true) {
			continue
		}
		for j, md := range pd.group {
			if md.enabled {
				pd.members[i][j] = targetFor(mspecs[j], o, pd.id)
			}
		}
		carried := false
		if old != nil && old.group != nil {
			for k, oo := range old.origins {
				if oo.Name == o.Name && oo.Address == o.Address && k < len(old.gprev) {
					pd.gprev[i], pd.gchanged[i], carried = old.gprev[k], old.gchanged[k], true
					break
				}
			}
		}
		if !carried {
			a := pd.aggregate(i)
			pd.gprev[i], pd.gchanged[i] = a.State, a.Changed
		}
	}
}

// aggregate is the health of origin i of a monitor group pool from its members' latest
// results (GroupHealthy, GroupRTT). Members without a result yet do not take part; with no
// result at all the origin is Unknown. Changed is the latest change of a member.
func (pd *poolDef) aggregate(i int) (st groupStatus) {
	st.Monitored = true
	var ms []GroupMember
	var ewmas []GroupMember
	type failing struct {
		label, reason string
		code          int
		must, only    bool
	}
	var fails []failing
	known, voters, down := 0, 0, 0
	for j, t := range pd.members[i] {
		md := pd.group[j]
		if t == nil || !md.enabled {
			continue
		}
		if t.tr.lastProbe.After(st.LastProbe) {
			st.LastProbe = t.tr.lastProbe
		}
		if t.tr.changed.After(st.Changed) {
			st.Changed = t.tr.changed
		}
		if t.tr.state == Unknown {
			continue
		}
		known++
		gm := GroupMember{Healthy: t.tr.state == Healthy, MustBeHealthy: md.mustBeHealthy, MonitoringOnly: md.monitoringOnly}
		if t.tr.reason == ReasonOK {
			gm.RTT = t.tr.rtt
		}
		ms = append(ms, gm)
		if t.tr.hasEWMA {
			ewmas = append(ewmas, GroupMember{RTT: time.Duration(t.tr.ewma * float64(time.Millisecond)), MonitoringOnly: md.monitoringOnly})
		}
		if !md.monitoringOnly {
			voters++
		}
		if !gm.Healthy {
			if !md.monitoringOnly {
				down++
			}
			fails = append(fails, failing{md.label, t.tr.reason, t.tr.code, md.mustBeHealthy, md.monitoringOnly})
		}
		if st.Code == 0 {
			st.Code = t.tr.code
		}
	}
	if known == 0 {
		st.State, st.Reason = Unknown, ReasonNotProbed
		if !slicesAnyEnabled(pd.group) {
			st.State, st.Reason = Healthy, ReasonNoMembers
		}
		return st
	}
	st.RTT, _ = GroupRTT(ms)
	if rtt, ok := GroupRTT(ewmas); ok {
		st.ewma, st.hasEWMA = float64(rtt)/float64(time.Millisecond), true
	}
	describe := func(f failing) string {
		s := f.label + ": " + f.reason
		switch {
		case f.must:
			s += " (must be healthy)"
		case f.only:
			s += " (monitoring only)"
		}
		return s
	}
	var b strings.Builder
	if GroupHealthy(ms) {
		st.State, st.Reason = Healthy, ReasonOK
		if len(fails) > 0 {
			b.WriteString(ReasonOK + "; monitor group quorum holds, failing: ")
			for k, f := range fails {
				if k > 0 {
					b.WriteString(", ")
				}
				b.WriteString(describe(f))
			}
			st.Reason = b.String()
		}
		return st
	}
	st.State = Unhealthy
	var deciding []failing
	for _, f := range fails {
		if f.must {
			deciding = append(deciding, f)
		}
	}
	if len(deciding) > 0 {
		b.WriteString("monitor group: a must_be_healthy member fails: ")
	} else {
		for _, f := range fails {
			if !f.only {
				deciding = append(deciding, f)
			}
		}
		fmt.Fprintf(&b, "monitor group: %d of %d voting members fail: ", down, voters)
	}
	for k, f := range deciding {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(describe(f))
	}
	st.Code = deciding[0].code
	st.Reason = b.String()
	return st
}

// groupStatus is an aggregated origin status plus the RTT average of its voting members.
type groupStatus struct {
	OriginStatus
	ewma    float64 // ms
	hasEWMA bool
}

// ReasonNoMembers is the reason of an origin whose monitor group has no enabled member: it is
// not probed, and nothing says it is down.
const ReasonNoMembers = "No enabled monitor in the monitor group"

func slicesAnyEnabled(ms []memberDef) bool {
	for _, m := range ms {
		if m.enabled {
			return true
		}
	}
	return false
}

// Preview probes every origin of pool with monitor m now (the API's monitor and pool
// previews, ruling 32), at most MaxConcurrency at a time.
func (p *Prober) Preview(ctx context.Context, m model.Monitor, pool model.Pool) PreviewResult {
	res := PreviewResult{PoolID: pool.ID, PoolName: pool.Name, Origins: make([]PreviewOrigin, len(pool.Origins))}
	sem := make(chan struct{}, p.maxConc)
	var wg sync.WaitGroup
	for i, o := range pool.Origins {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := p.Probe(ctx, m, o, pool.ID)
			res.Origins[i] = PreviewOrigin{Name: o.Name, Address: o.Address, Healthy: r.Healthy,
				FailureReason: r.Reason, ResponseCode: r.Code, RTT: r.RTT}
		}()
	}
	wg.Wait()
	return res
}

// PreviewResult is the outcome of Preview, origins in the pool's order.
type PreviewResult struct {
	PoolID   string          `json:"pool_id"`
	PoolName string          `json:"pool_name"`
	Origins  []PreviewOrigin `json:"origins"`
}

// PreviewOrigin is one origin's result in a preview.
type PreviewOrigin struct {
	Name          string        `json:"name"`
	Address       string        `json:"address"`
	Healthy       bool          `json:"healthy"`
	FailureReason string        `json:"failure_reason"`
	ResponseCode  int           `json:"response_code"`
	RTT           time.Duration `json:"rtt"`
}

// targetHeap orders targets by their next probe time.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
