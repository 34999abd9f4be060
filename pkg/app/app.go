// Package app is lbdns's control plane: it loads the config file and zones, opens the store
// and the GeoIP database, runs the prober, builds serving snapshots and publishes them through
// one atomic pointer, and runs the DNS, API and metrics listeners. Every writer — reload, API
// write, health change — goes through one mutex here, so snapshots are built one at a time
// from a consistent set of inputs; the query path never takes that lock.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/api"
	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/geo"
	"github.com/lbdns/lbdns/pkg/health"
	"github.com/lbdns/lbdns/pkg/model"
	"github.com/lbdns/lbdns/pkg/region"
	"github.com/lbdns/lbdns/pkg/server"
	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/store"
	"github.com/lbdns/lbdns/pkg/xfr"
	"github.com/lbdns/lbdns/pkg/zone"
)

// Options are the app's injected dependencies.
type Options struct {
	Log     zerolog.Logger
	Version string
}

// App is one running lbdns instance.
type App struct {
	path string
	opts Options
	log  zerolog.Logger
	reg  *prometheus.Registry

	snap atomic.Pointer[snapshot.Snapshot]

	pubMu   sync.Mutex // serialises publish: build, swap, prober update
	mu      sync.Mutex // guards the build inputs below; health changes take only this
	cfg     *config.Config
	zones   []*zone.Zone
	geo     *geo.DB
	regions *region.Table
	catalog *model.Catalog
	view    *health.View
	// healthReady: the first health round is in (ruling 8). Before it, snapshots are Starting
	// (load-balanced names answer SERVFAIL) and transfers' data is not published, so the served
	// serial does not move between a start's unknown health and its first verdicts.
	healthReady bool
	second      map[string]*zone.Zone // secondary zones by origin: transferred data, or Unavailable

	store   *store.Store
	backend *api.MemoryBackend
	prober  *health.Prober
	apiH    atomic.Pointer[api.Handler] // nil until Run starts the API listener
	dns     *server.Server

	// The transfer manager is replaced by a reload that changes a zone's transfer settings.
	xfr      atomic.Pointer[xfr.Manager]
	xfrMu    sync.Mutex // guards the running manager's stop below
	xfrStop  func()     // stops the running manager and waits for it; nil before Run
	reloadMu sync.Mutex // one reload at a time

	ready    atomic.Bool
	reloads  *prometheus.CounterVec
	zonesGau prometheus.Gauge
}

// ProblemsError is the error of a config file, a zone file or a GeoIP database that does not
// load: every problem found, for `check` and for a refused start or reload.
type ProblemsError struct {
	File     string         // the config file
	Problems model.Problems // with field paths (and lines) of the config file
	Zone     []string       // zone file problems, each "file:line: message"
}

func (e ProblemsError) Error() string {
	var b strings.Builder
	e.Format(&b)
	return strings.TrimSpace(b.String())
}

// Format writes one line per problem.
func (e ProblemsError) Format(w io.Writer) {
	config.FormatProblems(w, e.File, e.Problems)
	for _, z := range e.Zone {
		fmt.Fprintln(w, z)
	}
}

// HasErrors reports whether anything besides warnings was found.
func (e ProblemsError) HasErrors() bool { return e.Problems.HasErrors() || len(e.Zone) > 0 }

// loaded is what the config file names, read and checked.
type loaded struct {
	cfg     *config.Config
	zones   []*zone.Zone
	geo     *geo.DB
	regions *region.Table
	xfr     *xfr.Manager // a reload's new transfer manager (nil: keep the running one)
}

func (l *loaded) close() {
	if l.geo != nil {
		l.geo.Close()
	}
}

// load reads the config, the zone files and the GeoIP database. Warnings come back with a nil
// error; any error comes back as a ProblemsError listing every problem found.
func load(path string) (*loaded, ProblemsError) {
	pe := ProblemsError{File: path}
	cfg, ps := config.Load(path)
	pe.Problems = ps
	if cfg == nil {
		return nil, pe
	}
	// With errors in the config, its zone files and GeoIP files are still read, so that every
	// problem is reported at once (ruling 41).
	// What the config check already reported (a zone file it cannot read, a bad region
	// override) is not reported twice.
	reported := func(prefix string) bool {
		for _, p := range ps {
			if !p.Warning && (p.Path == prefix || strings.HasPrefix(p.Path, prefix+".") || strings.HasPrefix(p.Path, prefix+"[")) {
				return true
			}
		}
		return false
	}
	l := &loaded{cfg: cfg}
	for i, zc := range cfg.Zones {
		if zc.File == "" || reported(fmt.Sprintf("zones[%d]", i)) {
			continue // a secondary zone (filled by transfers), or one the config check refused
		}
		z, err := zone.Load(zc.Name, zc.File)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					pe.Zone = append(pe.Zone, line)
				}
			}
			continue
		}
		l.zones = append(l.zones, z)
	}
	var overrides map[string]string
	if cfg.GeoIP != nil {
		overrides = cfg.GeoIP.Regions
	}
	tbl, err := region.NewTable(overrides)
	if err != nil && !reported("geoip.regions") {
		pe.Problems = append(pe.Problems, model.Problem{Path: "geoip.regions", Msg: err.Error()})
	}
	l.regions = tbl
	if cfg.GeoIP != nil && (len(cfg.GeoIP.City) > 0 || cfg.GeoIP.ASN != "") && !reported("geoip") {
		db, err := geo.Open(geo.Config{City: cfg.GeoIP.City, ASN: cfg.GeoIP.ASN, Regions: cfg.GeoIP.Regions})
		if err != nil {
			// geo names the field ("geoip.city[0]: …"): that is the problem's path.
			path, msg := "geoip", err.Error()
			if f, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(f, "geoip.") && !strings.Contains(f, " ") {
				path, msg = f, rest
			}
			pe.Problems = append(pe.Problems, model.Problem{Path: path, Msg: msg, Line: cfg.LineOf(path)})
		} else {
			l.geo = db
		}
	}
	if pe.HasErrors() {
		l.close()
		return nil, pe
	}
	return l, pe
}

// servedZones returns the zone files' zones plus one per secondary zone: secondary's, or a
// zone without data (SERVFAIL, ruling 40) when secondary is nil or returns nil.
func (l *loaded) servedZones(secondary func(config.Zone) *zone.Zone) []*zone.Zone {
	zones := slices.Clone(l.zones)
	for _, zc := range l.cfg.Zones {
		if zc.File != "" || len(zc.Primaries) == 0 {
			continue
		}
		var z *zone.Zone
		if secondary != nil {
			z = secondary(zc)
		}
		if z == nil {
			z = zone.Unavailable(zc.Name)
		}
		zones = append(zones, z)
	}
	return zones
}

func (l *loaded) regionsFunc() func(country, subdivision string) string {
	if l.regions == nil {
		return nil
	}
	return l.regions.Of
}

// Check validates a config file, its zones, its GeoIP files and the load balancers compiled
// against the zones. The result holds every problem, warnings included.
func Check(path string) ProblemsError {
	l, pe := load(path)
	if l == nil {
		return pe
	}
	defer l.close()
	// Secondary zones have no data until transferred; load balancers in them are placed in
	// the zone as serve does (their names are checked against the data once it arrives).
	if _, err := snapshot.Build(snapshot.Input{Zones: l.servedZones(nil), Catalog: l.cfg.Catalog(), PoP: l.cfg.Server.PoP, Regions: l.regionsFunc()}); err != nil {
		pe.Problems = append(pe.Problems, model.Problem{Path: "load_balancers", Msg: err.Error()})
	}
	return pe
}

// New loads the config and everything it names, opens the store and builds the first
// snapshot. It binds nothing: a config or zone error returns before any socket is opened.
func New(path string, o Options) (*App, error) {
	l, pe := load(path)
	if l == nil {
		return nil, pe
	}
	for _, p := range pe.Problems {
		o.Log.Warn().Str("config", path).Msg(p.String())
	}
	a := &App{path: path, opts: o, log: o.Log, reg: prometheus.NewRegistry(),
		cfg: l.cfg, zones: l.zones, geo: l.geo, regions: l.regions}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lbdns", Name: "reloads_total", Help: "Config reloads (SIGHUP) by result."}, []string{"result"})
	a.zonesGau = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "lbdns", Name: "zones_loaded", Help: "Zones currently served."})
	a.reg.MustRegister(a.reloads, a.zonesGau)
	a.reloads.WithLabelValues("success")
	a.reloads.WithLabelValues("failure")

	a.prober = health.New(health.Options{
		Log:           a.log.With().Str("component", "health").Logger(),
		Registerer:    a.reg,
		DataDir:       a.cfg.DataDir,
		Notifications: notifications(a.cfg),
		Region:        a.cfg.Server.PoP.Region,
	})
	a.catalog = a.cfg.Catalog()
	a.second = map[string]*zone.Zone{}
	xm, err := a.newXfr(a.cfg)
	if err != nil {
		l.close()
		return nil, err
	}
	a.xfr.Store(xm)
	if a.cfg.DataDir != "" {
		st, err := store.Open(a.cfg.DataDir)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("data_dir: %w", err)
		}
		a.store = st
		// The backend combines the file's objects with the stored ones; they are validated
		// together here and published below as the first snapshot.
		b, err := api.NewMemoryBackend(api.MemoryConfig{
			Store:   st,
			File:    *a.cfg.Catalog(),
			Zones:   apiZones(l),
			Publish: a.publish,
			Health:  a.apiHealth,
			Probe:   a.apiProbe,
			Events:  a.apiEvents,
			Regions: a.regions,
			Log:     a.log.With().Str("component", "api").Logger(),
		})
		if err != nil {
			st.Close()
			l.close()
			return nil, err
		}
		a.backend = b
		if ps := b.Validate(); ps.HasErrors() {
			a.closeStore()
			l.close()
			for i := range ps {
				ps[i].Msg += " (objects created through the API, in " + a.cfg.DataDir + ", no longer fit the config file)"
			}
			return nil, ProblemsError{File: path, Problems: ps.Errors()}
		}
		cat := b.State().Catalog
		a.catalog = &cat
	}
	if err := a.publish(*a.catalog); err != nil {
		a.closeStore()
		l.close()
		return nil, err
	}
	a.zonesGau.Set(float64(len(a.zones)))
	return a, nil
}

// newXfr builds a transfer manager for cfg's zones. Only the manager being served hands its
// secondary zones to the snapshot: one replaced by a reload is ignored while it stops.
func (a *App) newXfr(cfg *config.Config) (*xfr.Manager, error) {
	var m *xfr.Manager
	m, err := xfr.New(xfr.Options{
		Log:        a.log.With().Str("component", "xfr").Logger(),
		Registerer: a.reg,
		DataDir:    cfg.DataDir,
		Zones:      cfg.Zones,
		OnSecondary: func(origin string, z *zone.Zone) {
			if a.xfr.Load() == m {
				a.onSecondary(origin, z)
			}
		},
	})
	return m, err
}

// startXfr runs the current transfer manager until stopXfr.
func (a *App) startXfr() {
	a.xfrMu.Lock()
	defer a.xfrMu.Unlock()
	a.startXfrLocked()
}

func (a *App) startXfrLocked() {
	m := a.xfr.Load()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	a.xfrStop = func() { cancel(); <-done }
}

func (a *App) stopXfr() {
	a.xfrMu.Lock()
	defer a.xfrMu.Unlock()
	if a.xfrStop != nil {
		a.xfrStop()
		a.xfrStop = nil
	}
}

// swapXfr serves m instead of the current manager: the old one is stopped (its late
// secondary-zone deliveries are ignored) and m runs in its place if transfers were running.
// The snapshot already carries m's serials (publishWith used it).
func (a *App) swapXfr(m *xfr.Manager) {
	a.xfrMu.Lock()
	a.xfr.Store(m)
	if a.xfrStop != nil {
		a.xfrStop()
		a.startXfrLocked()
	}
	a.xfrMu.Unlock()
}

// handleXfr is the DNS server's hook for NOTIFY and transfers: the current manager's.
func (a *App) handleXfr(w dns.ResponseWriter, req *dns.Msg) bool {
	return a.xfr.Load().Handle(w, req)
}

// apiZones returns the served zones as the API shows them, with the apex NS targets of the
// zones loaded from files as their name_servers.
func apiZones(l *loaded) []api.Zone {
	out := api.ZonesFromNames(l.cfg.ZoneNames()...)
	for i := range out {
		for _, z := range l.zones {
			if zoneKey(z.Origin()) != zoneKey(out[i].Name) {
				continue
			}
			for _, rr := range z.Lookup(z.Origin(), dns.TypeNS, nil).Answer {
				if ns, ok := rr.(*dns.NS); ok {
					out[i].NameServers = append(out[i].NameServers, strings.TrimSuffix(ns.Ns, "."))
				}
			}
		}
	}
	return out
}

func notifications(cfg *config.Config) []health.Notification {
	out := make([]health.Notification, 0, len(cfg.Notifications))
	for _, n := range cfg.Notifications {
		out = append(out, health.Notification{Name: n.Name, Webhook: n.Webhook, Pools: n.Pools, EventSource: n.EventSource, NewHealth: n.NewHealth})
	}
	return out
}

// publish makes cat (file objects plus API-created ones, normalised and resolved) live:
// it validates it against the zones, builds a snapshot, swaps it in and hands the new
// objects to the prober. It is the API backend's publish hook, so an API write returns only
// after DNS answers follow it (ruling 30).
func (a *App) publish(cat model.Catalog) error { return a.publishWith(cat, nil) }

// publishWith is publish with new inputs from a reload (nil: the current ones). The inputs
// become current only with the snapshot built from them, so a refused reload leaves nothing
// of itself behind, even when API writes are published while it is pending.
func (a *App) publishWith(cat model.Catalog, next *loaded) error {
	a.pubMu.Lock()
	defer a.pubMu.Unlock()
	a.mu.Lock()
	in := a.inputsLocked()
	if next != nil {
		in = next
	}
	if ps := cat.Validate(in.cfg.ZoneNames()); ps.HasErrors() {
		a.mu.Unlock()
		return ps.Err()
	}
	s, err := a.buildLocked(in, &cat)
	if err != nil {
		a.mu.Unlock()
		if next == nil {
			// An API write the zones cannot hold (a load balancer at or below a delegation
			// or a DNAME): invalid input, not a server fault.
			return &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Msgs: []string{"name: " + err.Error()}}
		}
		return err
	}
	if next != nil {
		a.cfg, a.zones, a.geo, a.regions = next.cfg, next.zones, next.geo, next.regions
	}
	a.catalog = &cat
	s.Starting = !a.healthReady
	m := a.xfr.Load()
	if next != nil && next.xfr != nil {
		m = next.xfr
	}
	a.servedSerialsLocked(s, m)
	a.snap.Store(s)
	a.mu.Unlock()
	// The prober may publish a new view (onHealth) from inside Update: a.mu is not held here.
	a.prober.Update(&cat)
	return nil
}

// inputsLocked returns the current build inputs. a.mu is held.
func (a *App) inputsLocked() *loaded {
	return &loaded{cfg: a.cfg, zones: a.zones, geo: a.geo, regions: a.regions}
}

// buildLocked compiles inputs in, the secondary zones and the health view with catalog cat
// into a snapshot. a.mu is held.
func (a *App) buildLocked(in *loaded, cat *model.Catalog) (*snapshot.Snapshot, error) {
	zones := in.servedZones(func(zc config.Zone) *zone.Zone { return a.second[zoneKey(zc.Name)] })
	return snapshot.Build(snapshot.Input{
		Zones: zones, Catalog: cat, Health: a.view, Geo: in.geo,
		PoP: in.cfg.Server.PoP, Regions: in.regionsFunc(),
	})
}

func zoneKey(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// onSecondary receives a secondary zone from the transfer manager (nil: never loaded or
// expired → SERVFAIL) and publishes a snapshot with it.
func (a *App) onSecondary(origin string, z *zone.Zone) {
	if z == nil {
		z = zone.Unavailable(origin)
	}
	a.pubMu.Lock()
	defer a.pubMu.Unlock()
	a.mu.Lock()
	a.second[zoneKey(origin)] = z
	if a.catalog == nil || a.snap.Load() == nil {
		a.mu.Unlock()
		return // the first publish picks it up
	}
	s, err := a.buildLocked(a.inputsLocked(), a.catalog)
	if err == nil {
		s.Health, s.View = snapshot.NewDenseHealth(s.Steer, a.view), a.view
		s.Starting = !a.healthReady
		a.snap.Store(s)
	}
	a.mu.Unlock()
	if err != nil {
		a.log.Error().Err(err).Str("zone", origin).Msg("secondary zone not served")
		return
	}
	a.log.Info().Str("zone", origin).Bool("loaded", z.Available()).Uint64("gen", s.Gen).Msg("secondary zone published")
}

// servedSerialsLocked hands the transfer manager the outgoing data of every zone lbdns is
// primary for: zone data with each load balancer's client-independent answer (rulings 21,
// 38). The manager bumps the served serial and sends NOTIFY when that data changed (ruling
// 39); the zones of s are replaced by copies whose SOA carries the served serial, so SOA
// queries, negative answers and transfers agree. a.mu is held; s is not published yet.
func (a *App) servedSerialsLocked(s *snapshot.Snapshot, m *xfr.Manager) {
	if m == nil || s == nil || !a.healthReady {
		return
	}
	zones := s.Zones.Zones()
	var out []*zone.Zone
	for i, z := range zones {
		if !a.isFileZone(z.Origin()) || !z.Available() {
			continue
		}
		serial, ok := m.Publish(z.Origin(), xfr.Outgoing(z, s.Steer, s.Health))
		if !ok || z.SOA() == nil || serial == z.SOA().Serial {
			continue
		}
		if out == nil {
			out = slices.Clone(zones)
		}
		out[i] = z.WithSerial(serial)
	}
	if out != nil {
		s.Zones = zone.NewSet(out...)
	}
}

// isFileZone reports whether origin is a zone loaded from a file (lbdns is its primary).
// a.mu is held.
func (a *App) isFileZone(origin string) bool {
	for _, zc := range a.cfg.Zones {
		if zc.File != "" && zoneKey(zc.Name) == zoneKey(origin) {
			return true
		}
	}
	return false
}

// startOutgoing publishes the transfers' data for the first time and serves the current
// snapshot again with the served serials. Run calls it once the first health round is in.
func (a *App) startOutgoing() {
	a.pubMu.Lock()
	defer a.pubMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.healthReady = true
	cur := a.snap.Load()
	if cur == nil {
		return
	}
	next := *cur
	next.Gen = snapshot.NextGen()
	next.Starting = false
	a.servedSerialsLocked(&next, a.xfr.Load())
	a.snap.Store(&next)
}

// onHealth publishes a snapshot with a new health view; zones and load balancers are reused.
// A view older than the one already served (the first-round view that Run hands over can
// race a newer change) is ignored.
func (a *App) onHealth(v *health.View) {
	a.mu.Lock()
	if a.view != nil && v.Gen() < a.view.Gen() {
		a.mu.Unlock()
		return
	}
	a.view = v
	cur := a.snap.Load()
	next := *cur
	next.Health = snapshot.NewDenseHealth(cur.Steer, v)
	next.View = v
	next.Gen = snapshot.NextGen()
	a.servedSerialsLocked(&next, a.xfr.Load())
	a.snap.Store(&next)
	a.mu.Unlock()
}

// Reload re-reads the config file, zone files and GeoIP database and publishes a new
// snapshot. On any error the running state is kept and the reason logged.
func (a *App) Reload() {
	if err := a.reload(); err != nil {
		a.reloads.WithLabelValues("failure").Inc()
		ev := a.log.Error().Str("config", a.path)
		var pe ProblemsError
		if errors.As(err, &pe) {
			var lines []string
			for _, p := range pe.Problems {
				lines = append(lines, p.String())
			}
			ev = ev.Strs("problems", append(lines, pe.Zone...))
		} else {
			ev = ev.Err(err)
		}
		ev.Msg("reload failed; keeping the running configuration")
		return
	}
	a.reloads.WithLabelValues("success").Inc()
	a.log.Info().Str("config", a.path).Uint64("gen", a.snap.Load().Gen).Int("zones", len(a.zones)).Msg("reloaded")
}

func (a *App) reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	l, pe := load(a.path)
	if l == nil {
		return pe
	}
	// A change to any zone's transfer settings (or to the set of zones) gets a new transfer
	// manager, started once the new snapshot is served. Otherwise the running one carries on
	// with its timers, journals and transferred data.
	a.mu.Lock()
	oldZones := a.cfg.Zones
	a.mu.Unlock()
	if !reflect.DeepEqual(oldZones, l.cfg.Zones) {
		var err error
		if l.xfr, err = a.newXfr(l.cfg); err != nil {
			l.close()
			return err
		}
	}
	// The new inputs are published like an API write (the backend validates the file's
	// objects together with the stored ones, holding its lock so no API write comes between);
	// they become current only with the snapshot built from them.
	publish := func(cat model.Catalog) error { return a.publishWith(cat, l) }
	var err error
	if a.backend != nil {
		err = a.backend.ReloadWith(*l.cfg.Catalog(), apiZones(l), publish)
	} else {
		err = publish(*l.cfg.Catalog())
	}
	if err != nil {
		l.close()
		return err
	}
	if l.xfr != nil {
		a.swapXfr(l.xfr)
	}
	a.prober.SetNotifications(notifications(l.cfg))
	if h := a.apiH.Load(); h != nil && l.cfg.API != nil {
		if err := h.SetTokens(apiTokens(l.cfg)); err != nil {
			a.log.Error().Err(err).Msg("api tokens not replaced; the previous ones stay")
		}
	}
	a.zonesGau.Set(float64(len(l.cfg.Zones)))
	// The old GeoIP database may still be read by queries holding the previous snapshot; it
	// is memory-mapped read-only, so it is left to the garbage collector rather than closed.
	return nil
}

// Snapshot returns the snapshot being served.
func (a *App) Snapshot() *snapshot.Snapshot { return a.snap.Load() }

// startGrace is how long serve waits for the first health round before it binds DNS anyway.
const startGrace = time.Second

// Run serves until ctx is cancelled, then drains and returns nil. It starts the metrics
// listener first (so /readyz can say "not ready"), then the prober, and binds DNS and the API
// once the first probe round is done or startGrace passed; load-balanced names are served
// from the end of that round (or its time bound, ruling 8).
func (a *App) Run(ctx context.Context) error {
	defer a.closeStore()
	var servers []*http.Server
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}()
	if a.cfg.Metrics != nil && a.cfg.Metrics.Listen != "" {
		s, err := a.serveHTTP(a.cfg.Metrics.Listen, a.metricsHandler(), "metrics")
		if err != nil {
			return fmt.Errorf("metrics.listen: %w", err)
		}
		servers = append(servers, s)
	}

	pctx, stopProber := context.WithCancel(context.Background())
	proberDone := make(chan struct{})
	a.prober.OnChange(a.onHealth)
	go func() { defer close(proberDone); a.prober.Run(pctx) }()
	defer func() { stopProber(); <-proberDone }()

	a.startXfr()
	defer a.stopXfr()

	// The first health round usually takes milliseconds: DNS waits for it up to startGrace,
	// so that load-balanced names are answered from the first query. A slower round does not
	// hold zone data and the API back: they are served after startGrace, and load-balanced
	// names get SERVFAIL until the round is in (ruling 8; /readyz says so).
	select {
	case <-a.prober.Ready():
	case <-time.After(startGrace):
	case <-ctx.Done():
		return nil
	}
	healthIn := false
	select {
	case <-a.prober.Ready():
		a.onHealth(a.prober.View())
		a.startOutgoing()
		healthIn = true
	default:
	}
	dns, err := server.New(server.Options{
		Listen:     a.cfg.Server.Listen,
		Snapshots:  &a.snap,
		Log:        a.log.With().Str("component", "dns").Logger(),
		Registerer: a.reg,
		UDPSockets: a.cfg.Server.UDPSockets,
		Xfr:        a.handleXfr,
	})
	if err != nil {
		return err
	}
	if err := dns.Start(); err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	a.dns = dns
	udp, tcp := dns.Addrs()
	for _, ad := range append(udp, tcp...) {
		a.log.Info().Str("addr", ad.String()).Str("net", ad.Network()).Msg("serving DNS")
	}
	if a.cfg.API != nil && a.cfg.API.Listen != "" && a.backend != nil {
		h, err := api.New(api.Options{
			AccountID: a.cfg.API.AccountID,
			Tokens:    apiTokens(a.cfg),
			Backend:   a.backend,
			Log:       a.log.With().Str("component", "api").Logger(),
			PoP:       a.cfg.Server.PoP.Code,
		})
		if err != nil {
			_ = dns.Shutdown(context.Background())
			return err
		}
		a.apiH.Store(h)
		s, err := a.serveHTTP(a.cfg.API.Listen, h, "api")
		if err != nil {
			_ = dns.Shutdown(context.Background())
			return fmt.Errorf("api.listen: %w", err)
		}
		servers = append(servers, s)
	}
	if !healthIn {
		select {
		case <-a.prober.Ready():
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = dns.Shutdown(sctx)
			return nil
		}
		a.onHealth(a.prober.View())
		a.startOutgoing()
	}
	a.ready.Store(true)
	a.log.Info().Str("version", a.opts.Version).Msg("ready")

	<-ctx.Done()
	a.ready.Store(false)
	a.log.Info().Msg("draining")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dns.Shutdown(sctx); err != nil {
		a.log.Warn().Err(err).Msg("DNS drain")
	}
	return nil
}

func apiTokens(cfg *config.Config) []api.Token {
	out := make([]api.Token, 0, len(cfg.API.Tokens))
	for _, t := range cfg.API.Tokens {
		out = append(out, api.Token{Name: t.Name, Secret: t.Secret, Scope: api.Scope(t.Scope)})
	}
	return out
}

func (a *App) serveHTTP(addr string, h http.Handler, what string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.Serve(ln) }()
	a.log.Info().Str("addr", ln.Addr().String()).Str("listener", what).Msg("serving HTTP")
	return s, nil
}

func (a *App) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	// /readyz: 200 once the first health round is done and DNS is bound, and every secondary
	// zone has data; the body lists each zone's transfer state (one JSON object per line).
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		var notReady []string
		if !a.ready.Load() {
			notReady = append(notReady, "not ready: first health round in progress (or draining)")
		}
		var states []xfr.ZoneStatus
		if m := a.xfr.Load(); m != nil {
			states = m.Status()
		}
		for _, st := range states {
			if !st.Ready() {
				notReady = append(notReady, fmt.Sprintf("not ready: zone %s has no data to serve (secondary: %s)", st.Zone, firstNonEmpty(st.LastError, "not transferred yet")))
			}
		}
		if len(notReady) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, r := range notReady {
				fmt.Fprintln(w, r)
			}
		} else {
			fmt.Fprintln(w, "ready")
		}
		enc := json.NewEncoder(w)
		for _, st := range states {
			_ = enc.Encode(st)
		}
	})
	return mux
}

func (a *App) closeStore() {
	if a.store != nil {
		a.store.Close()
		a.store = nil
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
