package server

import (
	"errors"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Label values are bounded: qtypes outside qtypeNames count as "other", rcodes outside
// rcodeNames as "other".
var (
	qtypeNames = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeTXT, dns.TypeSRV,
		dns.TypeNS, dns.TypeSOA, dns.TypePTR, dns.TypeCAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeDS,
		dns.TypeDNSKEY, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR}
	rcodeNames = []int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError,
		dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeNotAuth, rcodeBadVers}
	protoNames = [2]string{"udp", "tcp"}
)

const (
	numQtypes = 18 // len(qtypeNames) + "other"
	numRcodes = 9  // len(rcodeNames) + "other"
)

// qtypeIndex maps a qtype to its label slot without a map lookup.
var qtypeIndex [dns.TypeCAA + 1]uint8

func init() {
	for i := range qtypeIndex {
		qtypeIndex[i] = numQtypes - 1
	}
	for i, t := range qtypeNames {
		qtypeIndex[t] = uint8(i)
	}
}

func qtypeSlot(t uint16) int {
	if int(t) < len(qtypeIndex) {
		return int(qtypeIndex[t])
	}
	return numQtypes - 1
}

func rcodeSlot(rc int) int {
	for i, r := range rcodeNames {
		if r == rc {
			return i
		}
	}
	return numRcodes - 1
}

// metrics are the query-path series, resolved once so the hot path does no label lookups.
type metrics struct {
	requests  [2][numQtypes]prometheus.Counter
	responses [2][numRcodes]prometheus.Counter
	duration  [2]prometheus.Observer
	truncated [2]prometheus.Counter
	dropped   [2]prometheus.Counter
	lbAnswers *prometheus.CounterVec
	zones     *prometheus.CounterVec
}

// zoneCounters are lbdns_dns_zone_responses_total of one zone, by rcode slot.
type zoneCounters [numRcodes]prometheus.Counter

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lbdns", Subsystem: "dns", Name: "requests_total",
		Help: "DNS requests received, by transport and query type.",
	}, []string{"proto", "qtype"})
	resp := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lbdns", Subsystem: "dns", Name: "responses_total",
		Help: "DNS responses sent, by transport and response code.",
	}, []string{"proto", "rcode"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "lbdns", Subsystem: "dns", Name: "request_duration_seconds",
		Help:    "Time from receiving a DNS request to having its response ready, by transport.",
		Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1},
	}, []string{"proto"})
	trunc := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lbdns", Subsystem: "dns", Name: "truncated_responses_total",
		Help: "Responses sent with TC=1 because the answer did not fit the client's buffer.",
	}, []string{"proto"})
	drop := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lbdns", Subsystem: "dns", Name: "dropped_requests_total",
		Help: "Messages dropped without a reply: shorter than a DNS header, or responses.",
	}, []string{"proto"})
	lb := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lbdns", Subsystem: "lb", Name: "answers_total",
		Help: "Answers decided by a load balancer, by load balancer and chosen pool.",
	}, []string{"lb", "pool"})
	zr := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lbdns", Subsystem: "dns", Name: "zone_responses_total",
		Help: "Responses for names inside a served zone, by zone and response code.",
	}, []string{"zone", "rcode"})
	m := &metrics{lbAnswers: lb, zones: zr}
	for p, proto := range protoNames {
		for i := range numQtypes {
			name := "other"
			if i < len(qtypeNames) {
				name = dns.TypeToString[qtypeNames[i]]
			}
			m.requests[p][i] = req.WithLabelValues(proto, name)
		}
		for i := range numRcodes {
			name := "other"
			if i < len(rcodeNames) {
				name = dns.RcodeToString[rcodeNames[i]]
			}
			m.responses[p][i] = resp.WithLabelValues(proto, name)
		}
		m.duration[p] = dur.WithLabelValues(proto)
		m.truncated[p] = trunc.WithLabelValues(proto)
		m.dropped[p] = drop.WithLabelValues(proto)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{req, resp, dur, trunc, drop, lb, zr} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					continue
				}
				return nil, err
			}
		}
	}
	return m, nil
}

// workerMetrics counts locally in a worker and adds to the shared series in flush, once per
// batch of packets: one atomic add per series touched instead of several per query.
type workerMetrics struct {
	shared    *metrics
	tcp       int
	req       [numQtypes]uint64
	resp      [numRcodes]uint64
	truncated uint64
	dropped   uint64
}

func (m *workerMetrics) request(qtype uint16) {
	m.req[qtypeSlot(qtype)]++
}

func (m *workerMetrics) response(rcode int) {
	m.resp[rcodeSlot(rcode)]++
}

func (m *workerMetrics) flush() {
	s := m.shared
	if s == nil {
		return
	}
	p := m.tcp
	for i, n := range m.req {
		if n != 0 {
			s.requests[p][i].Add(float64(n))
			m.req[i] = 0
		}
	}
	for i, n := range m.resp {
		if n != 0 {
			s.responses[p][i].Add(float64(n))
			m.resp[i] = 0
		}
	}
	if m.truncated != 0 {
		s.truncated[p].Add(float64(m.truncated))
		m.truncated = 0
	}
	if m.dropped != 0 {
		s.dropped[p].Add(float64(m.dropped))
		m.dropped = 0
	}
}

// zoneCounters returns the per-zone response counters of origin, resolved once per worker and
// view.
func (w *worker) zoneCounters(origin string) *zoneCounters {
	if c := w.zoneCtr[origin]; c != nil {
		return c
	}
	s := w.m.shared
	if s == nil {
		return nil
	}
	c := new(zoneCounters)
	for i := range numRcodes {
		name := "other"
		if i < len(rcodeNames) {
			name = dns.RcodeToString[rcodeNames[i]]
		}
		c[i] = s.zones.WithLabelValues(origin, name)
	}
	w.zoneCtr[origin] = c
	return c
}

// countZone adds one response with rcode to the zone's counters.
func (c *zoneCounters) count(rcode int) {
	if c != nil {
		c[rcodeSlot(rcode)].Inc()
	}
}
