package xfr

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// notifyTimeouts are the waits for an answer to each NOTIFY attempt (RFC 1996 §3.6 leaves the
// schedule open; Knot and BIND retry a few times over some seconds).
var notifyTimeouts = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}

// queueNotify asks the notifier to send NOTIFY for origin to its also_notify targets.
func (m *Manager) queueNotify(origin string) {
	m.notifyMu.Lock()
	m.notifyPending[origin] = true
	m.notifyMu.Unlock()
	select {
	case m.notifyKick <- struct{}{}:
	default:
	}
}

// runNotifier sends the queued NOTIFY messages until ctx ends. NOTIFY queued before Run
// starts are sent when it does.
func (m *Manager) runNotifier(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.notifyKick:
		}
		m.notifyMu.Lock()
		pending := m.notifyPending
		m.notifyPending = map[string]bool{}
		m.notifyMu.Unlock()
		for _, s := range m.order {
			if !pending[s.origin] {
				continue
			}
			s.mu.Lock()
			var soa *dns.SOA
			if s.out != nil {
				soa = s.out[0].(*dns.SOA)
			}
			s.mu.Unlock()
			if soa == nil {
				continue
			}
			for _, t := range s.notify {
				wg.Add(1)
				go func() { defer wg.Done(); m.sendNotify(ctx, s, soa, t) }()
			}
		}
	}
}

// sendNotify sends one NOTIFY (signed with the zone's key) and retries until it is answered.
func (m *Manager) sendNotify(ctx context.Context, s *zoneState, soa *dns.SOA, target netip.AddrPort) {
	log := m.log.With().Str("zone", s.origin).Str("target", target.String()).Uint32("serial", soa.Serial).Logger()
	for i, timeout := range notifyTimeouts {
		start := time.Now()
		msg := new(dns.Msg)
		msg.SetNotify(s.origin)
		msg.Answer = []dns.RR{soa}
		c := &dns.Client{Net: "udp", Timeout: timeout}
		if s.key != nil {
			c.TsigSecret = map[string]string{s.key.name: s.key.secret}
			msg.SetTsig(s.key.name, s.key.alg, tsigFudge, time.Now().Unix())
		}
		r, _, err := c.ExchangeContext(ctx, msg, target.String())
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Debug().Err(err).Int("attempt", i+1).Msg("xfr: NOTIFY not answered")
			// An immediate failure (port unreachable) waits out the attempt's time too.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(timeout))):
			}
			continue
		}
		if r.Rcode != dns.RcodeSuccess {
			log.Warn().Str("rcode", dns.RcodeToString[r.Rcode]).Msg("xfr: NOTIFY refused")
			m.m.notifies.WithLabelValues(s.origin, "out", "refused").Inc()
			return
		}
		log.Info().Msg("xfr: NOTIFY answered")
		m.m.notifies.WithLabelValues(s.origin, "out", "answered").Inc()
		return
	}
	log.Warn().Int("attempts", len(notifyTimeouts)).Msg("xfr: NOTIFY never answered")
	m.m.notifies.WithLabelValues(s.origin, "out", "failed").Inc()
}
