package xfr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/zone"
)

// Options are the Manager's inputs.
type Options struct {
	Log        zerolog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	// DataDir holds the copies of secondary zones (DataDir/secondary) and the served serials of
	// the other zones (DataDir/serials). Empty: nothing is saved.
	DataDir string
	Now     func() time.Time // nil: time.Now
	// Zones is every configured zone (normalised by config.Load: names without the trailing
	// dot, ports added, TSIG secrets read). Zones with Primaries are secondaries.
	Zones []config.Zone
	// OnSecondary receives a secondary zone's data: z after a load or a transfer, nil while the
	// zone was never loaded or has expired (serve SERVFAIL for it). Calls for one zone come one
	// at a time, from Run's goroutines.
	OnSecondary func(origin string, z *zone.Zone)

	// after replaces time.After in the timers of secondary zones (tests).
	after func(d time.Duration) <-chan time.Time
}

// Manager runs the transfers of every configured zone.
type Manager struct {
	log     zerolog.Logger
	dataDir string
	now     func() time.Time
	after   func(d time.Duration) <-chan time.Time
	onSec   func(origin string, z *zone.Zone)
	m       *metrics

	zones map[string]*zoneState // by lowercase FQDN
	order []*zoneState          // configuration order

	notifyMu      sync.Mutex
	notifyPending map[string]bool // origins with a NOTIFY to send
	notifyKick    chan struct{}
}

// Role is how lbdns serves a zone.
type Role string

const (
	Primary   Role = "primary"   // loaded from a file
	Secondary Role = "secondary" // transferred from primaries
)

// ZoneStatus is one zone's transfer state, for /readyz and logs.
type ZoneStatus struct {
	Zone         string    `json:"zone"`
	Role         Role      `json:"role"`
	Serial       uint32    `json:"serial"`                   // served (primary) or loaded (secondary)
	Loaded       bool      `json:"loaded"`                   // there is data to serve
	Expired      bool      `json:"expired,omitempty"`        // secondary: expire passed without contact
	LastTransfer time.Time `json:"last_transfer,omitzero"`   // last successful transfer (in or out)
	LastContact  time.Time `json:"last_contact,omitzero"`    // secondary: last answer from a primary
	LastError    string    `json:"last_error,omitempty"`     // secondary: last failed refresh
	NextRefresh  time.Time `json:"next_refresh,omitzero"`    // secondary
	Journal      int       `json:"journal,omitempty"`        // primary: IXFR journal entries
	Primaries    []string  `json:"primaries,omitempty"`      // secondary
	Notify       []string  `json:"also_notify,omitempty"`    // primary
	Transfers    []string  `json:"allow_transfer,omitempty"` // who may transfer
}

// Ready reports whether the zone can be served: a file zone always, a secondary zone once
// loaded and until it expires.
func (s ZoneStatus) Ready() bool { return s.Role == Primary || (s.Loaded && !s.Expired) }

// New prepares transfers for opts.Zones and loads the saved copies of secondary zones (they
// are handed to OnSecondary when Run starts). It starts nothing.
func New(opts Options) (*Manager, error) {
	m := &Manager{log: opts.Log, dataDir: opts.DataDir, now: opts.Now, after: opts.after, onSec: opts.OnSecondary,
		zones: map[string]*zoneState{}, notifyPending: map[string]bool{}, notifyKick: make(chan struct{}, 1)}
	if m.now == nil {
		m.now = time.Now
	}
	if m.after == nil {
		m.after = time.After
	}
	if m.onSec == nil {
		m.onSec = func(string, *zone.Zone) {}
	}
	var err error
	if m.m, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	var errs []error
	for i := range opts.Zones {
		s, err := m.newZoneState(opts.Zones[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("zones[%d] (%s): %w", i, opts.Zones[i].Name, err))
			continue
		}
		if _, dup := m.zones[s.origin]; dup {
			errs = append(errs, fmt.Errorf("zones[%d]: duplicate zone %s", i, s.origin))
			continue
		}
		m.zones[s.origin] = s
		m.order = append(m.order, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, s := range m.order {
		if s.secondary {
			m.loadSaved(s)
		}
		m.loadServed(s)
	}
	return m, nil
}

func (m *Manager) newZoneState(c config.Zone) (*zoneState, error) {
	s := &zoneState{cfg: c, origin: dns.CanonicalName(c.Name), secondary: len(c.Primaries) > 0 && c.File == "",
		kick: make(chan struct{}, 1)}
	var err error
	if s.key, err = newKey(c.TSIG); err != nil {
		return nil, err
	}
	for _, a := range c.AllowTransfer {
		if p, err := netip.ParsePrefix(a); err == nil {
			s.allow = append(s.allow, p.Masked())
		} else if ip, err := netip.ParseAddr(a); err == nil {
			s.allow = append(s.allow, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		} else {
			return nil, fmt.Errorf("allow_transfer: %q is neither a prefix nor an address", a)
		}
	}
	for _, a := range c.Primaries {
		ap, err := parseAddrPort(a)
		if err != nil {
			return nil, fmt.Errorf("primaries: %w", err)
		}
		s.primaries = append(s.primaries, ap)
	}
	for _, a := range c.AlsoNotify {
		ap, err := parseAddrPort(a)
		if err != nil {
			return nil, fmt.Errorf("also_notify: %w", err)
		}
		s.notify = append(s.notify, ap)
	}
	return s, nil
}

// parseAddrPort reads ip:port, or an IP alone (port 53, ruling 37).
func parseAddrPort(a string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(a); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), 53), nil
	}
	return netip.AddrPort{}, fmt.Errorf("%q is not ip:port", a)
}

// Run refreshes the secondary zones and sends NOTIFY until ctx is cancelled. It first hands
// every secondary zone's saved copy (or nil) to OnSecondary.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range m.order {
		if !s.secondary {
			continue
		}
		s.mu.Lock()
		z := s.served()
		s.mu.Unlock()
		m.onSec(s.origin, z)
		wg.Add(1)
		go func() { defer wg.Done(); m.runSecondary(ctx, s) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); m.runNotifier(ctx) }()
	wg.Wait()
}

// Status returns every zone's transfer state, in configuration order.
func (m *Manager) Status() []ZoneStatus {
	out := make([]ZoneStatus, 0, len(m.order))
	for _, s := range m.order {
		out = append(out, s.status())
	}
	return out
}

// TSIGSecrets returns the configured TSIG keys, name (FQDN) → base64 secret. Handle verifies
// signatures itself; this is for callers that need the keys elsewhere. With one name used by
// two zones with different secrets, the first zone's wins.
func (m *Manager) TSIGSecrets() map[string]string {
	out := map[string]string{}
	for _, s := range m.order {
		if s.key != nil {
			if _, ok := out[s.key.name]; !ok {
				out[s.key.name] = s.key.secret
			}
		}
	}
	return out
}

// zone finds the configured zone of name (exact, case-insensitive).
func (m *Manager) zone(name string) *zoneState {
	return m.zones[dns.CanonicalName(name)]
}

// keys returns every configured key (for requests to zones without one).
func (m *Manager) keys() []*key {
	var ks []*key
	for _, s := range m.order {
		if s.key != nil {
			ks = append(ks, s.key)
		}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].name < ks[j].name })
	return ks
}

// metrics are the transfer series.
type metrics struct {
	transfers *prometheus.CounterVec   // zone, direction, type, result
	duration  *prometheus.HistogramVec // zone, direction, type
	serial    *prometheus.GaugeVec     // zone
	notifies  *prometheus.CounterVec   // zone, direction, result
	expired   *prometheus.GaugeVec     // zone
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lbdns", Subsystem: "xfr", Name: "transfers_total",
			Help: "Zone transfers by zone, direction (in|out), type (axfr|ixfr) and result (success|failure|refused)."},
			[]string{"zone", "direction", "type", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "lbdns", Subsystem: "xfr", Name: "duration_seconds",
			Help: "Duration of successful zone transfers.", Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60}},
			[]string{"zone", "direction", "type"}),
		serial: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lbdns", Name: "zone_serial",
			Help: "SOA serial served for a zone (the transferred one for secondary zones)."}, []string{"zone"}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lbdns", Subsystem: "xfr", Name: "notifies_total",
			Help: "NOTIFY messages by zone, direction (in|out) and result (accepted|refused|answered|failed)."},
			[]string{"zone", "direction", "result"}),
		expired: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lbdns", Subsystem: "xfr", Name: "zone_expired",
			Help: "1 while a secondary zone is expired or never loaded (answers SERVFAIL)."}, []string{"zone"}),
	}
	if r == nil {
		return m, nil
	}
	// A Manager built again on the same registry (a reload) reuses the registered series.
	reg := func(c prometheus.Collector) (prometheus.Collector, error) {
		if err := r.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return are.ExistingCollector, nil
			}
			return nil, err
		}
		return c, nil
	}
	var err error
	var c prometheus.Collector
	if c, err = reg(m.transfers); err != nil {
		return nil, err
	}
	m.transfers = c.(*prometheus.CounterVec)
	if c, err = reg(m.duration); err != nil {
		return nil, err
	}
	m.duration = c.(*prometheus.HistogramVec)
	if c, err = reg(m.serial); err != nil {
		return nil, err
	}
	m.serial = c.(*prometheus.GaugeVec)
	if c, err = reg(m.notifies); err != nil {
		return nil, err
	}
	m.notifies = c.(*prometheus.CounterVec)
	if c, err = reg(m.expired); err != nil {
		return nil, err
	}
	m.expired = c.(*prometheus.GaugeVec)
	return m, nil
}

func (mt *metrics) transfer(zone, dir string, qtype uint16, result string, d time.Duration) {
	t := "axfr"
	if qtype == dns.TypeIXFR {
		t = "ixfr"
	}
	mt.transfers.WithLabelValues(zone, dir, t, result).Inc()
	if result == "success" {
		mt.duration.WithLabelValues(zone, dir, t).Observe(d.Seconds())
	}
}
