package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the health metrics (namespace lbdns, few labels with bounded values).
type metrics struct {
	originHealthy *prometheus.GaugeVec     // pool, origin: 1 healthy, 0 unhealthy or unknown
	poolHealthy   *prometheus.GaugeVec     // pool: 1 healthy (Healthy or Degraded), 0 not
	probeDuration *prometheus.HistogramVec // type
	probes        *prometheus.CounterVec   // type, result (success|failure)
	changes       *prometheus.CounterVec   // source (origin|pool)
	notifications *prometheus.CounterVec   // result (sent|failed|dropped)
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		originHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lbdns", Name: "origin_healthy",
			Help: "Origin health of monitored pools: 1 healthy, 0 unhealthy or not yet known."}, []string{"pool", "origin"}),
		poolHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lbdns", Name: "pool_healthy",
			Help: "Pool health: 1 when at least minimum_origins enabled origins are healthy (or no monitor), else 0."}, []string{"pool"}),
		probeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "lbdns", Name: "probe_duration_seconds",
			Help:    "Duration of health probes (all tries), by monitor type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"type"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lbdns", Name: "probes_total",
			Help: "Health probes by monitor type and result."}, []string{"type", "result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lbdns", Name: "health_changes_total",
			Help: "Health changes (events) by source."}, []string{"source"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lbdns", Name: "health_notifications_total",
			Help: "Webhook notifications by result."}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.originHealthy, m.poolHealthy, m.probeDuration, m.probes, m.changes, m.notifications)
	}
	return m
}

func (m *metrics) probe(typ string, r Result, d time.Duration) {
	res := "failure"
	if r.Healthy {
		res = "success"
	}
	m.probes.WithLabelValues(typ, res).Inc()
	m.probeDuration.WithLabelValues(typ).Observe(d.Seconds())
}

// view sets the gauges from v; after a catalog change the old label sets are dropped first.
func (m *metrics) view(v *View, catChanged bool) {
	if catChanged {
		m.originHealthy.Reset()
		m.poolHealthy.Reset()
	}
	for _, id := range v.order {
		pv := v.pools[id]
		name := pv.name
		if name == "" {
			name = id
		}
		m.poolHealthy.WithLabelValues(name).Set(b2f(pv.status.Healthy))
		if !pv.status.Monitored {
			continue
		}
		for i, os := range pv.origins {
			if !os.Monitored {
				continue
			}
			on := pv.names[i]
			if on == "" {
				on = pv.addrs[i]
			}
			m.originHealthy.WithLabelValues(name, on).Set(b2f(os.State == Healthy))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
