package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
)

// Event sources and new-health values, as Cloudflare's health alerts name them.
const (
	SourcePool      = "pool"
	SourceOrigin    = "origin"
	HealthHealthy   = "Healthy"
	HealthUnhealthy = "Unhealthy"
)

// Event is one health change, in the shape of Cloudflare's health event log entry
// (seed-model §11) plus the alert fields event_source and new_health.
type Event struct {
	ID          int64         `json:"id"`
	Timestamp   time.Time     `json:"timestamp"`
	EventSource string        `json:"event_source"` // SourcePool or SourceOrigin
	NewHealth   string        `json:"new_health"`   // HealthHealthy or HealthUnhealthy
	Pool        EventPool     `json:"pool"`
	Origins     []EventOrigin `json:"origins"`
	// Initial is true for a first verdict (from unknown); Unknown → Healthy is not notified.
	Initial bool `json:"-"`
}

// EventPool is the pool part of an Event.
type EventPool struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Healthy        bool      `json:"healthy"`
	Changed        time.Time `json:"changed"`
	MinimumOrigins int       `json:"minimum_origins"`
}

// EventOrigin is one origin of an Event.
type EventOrigin struct {
	Name          string    `json:"name"`
	IP            string    `json:"ip"`
	Enabled       bool      `json:"enabled"`
	Healthy       bool      `json:"healthy"`
	FailureReason string    `json:"failure_reason"`
	ResponseCode  int       `json:"response_code"`
	Changed       time.Time `json:"changed"`
}

func healthWord(b bool) string {
	if b {
		return HealthHealthy
	}
	return HealthUnhealthy
}

// eventsLocked turns the transitions since the last View, and the pools whose health changed,
// into events (one per origin transition per pool that has the origin, one per pool change),
// and appends them to the bounded history. In a pool monitored by a monitor group an origin
// event is a change of the aggregated state; its members' own transitions make none.
func (p *Prober) eventsLocked(v *View) []Event {
	var out []Event
	now := v.at
	if len(p.transitions) > 0 {
		refs := map[*target][][2]int{}
		for pi, pd := range p.pools {
			for oi, t := range pd.targets {
				if t != nil {
					refs[t] = append(refs[t], [2]int{pi, oi})
				}
			}
		}
		for _, tr := range p.transitions {
			for _, ref := range refs[tr.t] {
				pd := p.pools[ref[0]]
				pv := v.pools[pd.id]
				p.eventID++
				out = append(out, Event{
					ID: p.eventID, Timestamp: tr.at, EventSource: SourceOrigin,
					NewHealth: healthWord(tr.to == Healthy), Initial: tr.from == Unknown,
					Pool:    eventPool(pd, pv),
					Origins: []EventOrigin{eventOrigin(pd.origins[ref[1]], pv.origins[ref[1]])},
				})
			}
		}
		p.transitions = nil
	}
	// Origins of monitor group pools: an event when the aggregated state changes.
	for _, pd := range p.pools {
		if pd.group == nil {
			continue
		}
		pv := v.pools[pd.id]
		for i := range pd.gprev {
			ost := pv.origins[i]
			if !ost.Monitored || ost.State == pd.gprev[i] {
				continue
			}
			from := pd.gprev[i]
			pd.gprev[i], pd.gchanged[i] = ost.State, ost.Changed
			if ost.State == Unknown {
				continue
			}
			p.eventID++
			out = append(out, Event{
				ID: p.eventID, Timestamp: now, EventSource: SourceOrigin,
				NewHealth: healthWord(ost.State == Healthy), Initial: from == Unknown,
				Pool:    eventPool(pd, pv),
				Origins: []EventOrigin{eventOrigin(pd.origins[i], ost)},
			})
		}
	}
	for _, pd := range p.pools {
		pv := v.pools[pd.id]
		st := pv.status
		memo, ok := p.poolMemo[pd.id]
		if ok && memo.state == st.State && memo.healthy == st.Healthy {
			continue
		}
		nm := poolMemo{healthy: st.Healthy, state: st.State, changed: st.Changed, verdict: memo.verdict, vhealthy: memo.vhealthy}
		if !pd.monitored {
			nm.verdict = false
		}
		emit := pd.monitored && st.State != PoolUnknown && (!nm.verdict || nm.vhealthy != st.Healthy)
		if pd.monitored && st.State != PoolUnknown {
			nm.verdict, nm.vhealthy = true, st.Healthy
		}
		p.poolMemo[pd.id] = nm
		// A pool event when a monitored pool's verdict changes its healthy flag, or on its
		// first verdict.
		if !emit {
			continue
		}
		p.eventID++
		e := Event{ID: p.eventID, Timestamp: now, EventSource: SourcePool, NewHealth: healthWord(st.Healthy),
			Initial: !memo.verdict, Pool: eventPool(pd, pv)}
		for i, o := range pd.origins {
			e.Origins = append(e.Origins, eventOrigin(o, pv.origins[i]))
		}
		out = append(out, e)
	}
	for pid := range p.poolMemo {
		if v.pools[pid] == nil {
			delete(p.poolMemo, pid)
		}
	}
	p.history = append(p.history, out...)
	if over := len(p.history) - p.historyMax; over > 0 {
		p.history = append(p.history[:0:0], p.history[over:]...)
	}
	return out
}

func eventPool(pd *poolDef, pv *poolView) EventPool {
	return EventPool{ID: pd.id, Name: pd.name, Healthy: pv.status.Healthy, Changed: pv.status.Changed, MinimumOrigins: pd.min}
}

func eventOrigin(o model.Origin, os OriginStatus) EventOrigin {
	return EventOrigin{Name: o.Name, IP: o.Address, Enabled: os.Enabled, Healthy: os.State == Healthy,
		FailureReason: os.Reason, ResponseCode: os.Code, Changed: os.Changed}
}

func (p *Prober) logEvent(e *Event) {
	l := p.log.Info()
	if e.NewHealth == HealthUnhealthy {
		l = p.log.Warn()
	}
	l = l.Int64("event", e.ID).Str("source", e.EventSource).Str("pool", e.Pool.Name).Str("pool_id", e.Pool.ID).
		Str("health", e.NewHealth).Bool("pool_healthy", e.Pool.Healthy)
	if e.EventSource == SourceOrigin && len(e.Origins) == 1 {
		o := e.Origins[0]
		l = l.Str("origin", o.Name).Str("address", o.IP).Str("reason", o.FailureReason).Int("code", o.ResponseCode)
	}
	l.Msg("health changed")
	p.met.changes.WithLabelValues(e.EventSource).Inc()
}

// Notification is one webhook receiver of health events (config `notifications`). Empty
// filter lists match everything; Pools holds pool ids (names are accepted too).
type Notification struct {
	Name        string   `json:"name"`
	Webhook     string   `json:"webhook"`
	Pools       []string `json:"pools"`
	EventSource []string `json:"event_source"` // pool, origin
	NewHealth   []string `json:"new_health"`   // Healthy, Unhealthy
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// matches applies the notification's filters and the pool's notification_filter (ruling 28).
func (n *Notification) matches(e *Event, f *model.NotificationFilter) bool {
	if e.Initial && e.NewHealth == HealthHealthy {
		return false // a first "healthy" after start is not news
	}
	if len(n.Pools) > 0 && !slices.Contains(n.Pools, e.Pool.ID) && !slices.Contains(n.Pools, e.Pool.Name) {
		return false
	}
	if len(n.EventSource) > 0 && !containsFold(n.EventSource, e.EventSource) {
		return false
	}
	if len(n.NewHealth) > 0 && !containsFold(n.NewHealth, e.NewHealth) {
		return false
	}
	if f != nil {
		fo := f.Origin
		if e.EventSource == SourcePool {
			fo = f.Pool
		}
		if fo != nil && (fo.Disable || fo.Healthy != nil && *fo.Healthy != (e.NewHealth == HealthHealthy)) {
			return false
		}
	}
	return true
}

// Webhook delivery: each notification has its own bounded queue and sender, so a slow
// receiver delays only itself and never a probe; a full queue drops (and counts) the event.
const (
	webhookQueue    = 256
	webhookAttempts = 5
	webhookTimeout  = 10 * time.Second
)

type notifier struct {
	log     zerolog.Logger
	met     *metrics
	backoff time.Duration // first retry delay, doubled each time
	client  *http.Client

	mu    sync.Mutex
	sinks []*sink
	ctx   context.Context // run's, nil before run: sinks added later start their sender there
	wg    sync.WaitGroup  // the senders
}

type sink struct {
	n      Notification
	queue  chan []byte
	cancel context.CancelFunc // stops the sender (nil while not started)
}

// WebhookPayload is the JSON body POSTed to a notification webhook.
type WebhookPayload struct {
	Name      string `json:"name"`       // the notification's name
	AlertType string `json:"alert_type"` // "load_balancing_health_alert"
	Text      string `json:"text"`
	TS        int64  `json:"ts"` // unix seconds
	Data      Event  `json:"data"`
}

func newNotifier(log zerolog.Logger, ns []Notification, met *metrics) *notifier {
	nt := &notifier{log: log, met: met, backoff: time.Second, client: &http.Client{Timeout: webhookTimeout}}
	for _, n := range ns {
		nt.sinks = append(nt.sinks, &sink{n: n, queue: make(chan []byte, webhookQueue)})
	}
	return nt
}

// set replaces the notifications (a reload). A notification that did not change keeps its
// queue and sender, so nothing queued for it is lost; removed ones stop after the delivery in
// progress; new ones start at once when run is running.
func (nt *notifier) set(ns []Notification) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	old := nt.sinks
	next := make([]*sink, 0, len(ns))
	for _, n := range ns {
		var s *sink
		for i, o := range old {
			if o != nil && reflect.DeepEqual(o.n, n) {
				s, old[i] = o, nil
				break
			}
		}
		if s == nil {
			s = &sink{n: n, queue: make(chan []byte, webhookQueue)}
			if nt.ctx != nil {
				nt.start(s)
			}
		}
		next = append(next, s)
	}
	for _, o := range old {
		if o != nil && o.cancel != nil {
			o.cancel()
		}
	}
	nt.sinks = next
}

// start runs s's sender under nt.ctx. nt.mu is held.
func (nt *notifier) start(s *sink) {
	ctx, cancel := context.WithCancel(nt.ctx)
	s.cancel = cancel
	nt.wg.Add(1)
	go func() {
		defer nt.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-s.queue:
				nt.deliver(ctx, s, b)
			}
		}
	}()
}

func eventText(e *Event) string {
	if e.EventSource == SourceOrigin && len(e.Origins) == 1 {
		o := e.Origins[0]
		return fmt.Sprintf("Origin %s (%s) of pool %s is %s: %s", o.Name, o.IP, e.Pool.Name, e.NewHealth, o.FailureReason)
	}
	return fmt.Sprintf("Pool %s is %s", e.Pool.Name, e.NewHealth)
}

// enqueue never blocks.
func (nt *notifier) enqueue(e *Event, f *model.NotificationFilter) {
	nt.mu.Lock()
	sinks := nt.sinks
	nt.mu.Unlock()
	for _, s := range sinks {
		if !s.n.matches(e, f) {
			continue
		}
		b, err := json.Marshal(WebhookPayload{Name: s.n.Name, AlertType: "load_balancing_health_alert",
			Text: eventText(e), TS: e.Timestamp.Unix(), Data: *e})
		if err != nil {
			continue
		}
		select {
		case s.queue <- b:
		default:
			nt.met.notifications.WithLabelValues("dropped").Inc()
			nt.log.Warn().Str("notification", s.n.Name).Int64("event", e.ID).Msg("webhook queue full, event dropped")
		}
	}
}

func (nt *notifier) run(ctx context.Context) {
	nt.mu.Lock()
	nt.ctx = ctx
	for _, s := range nt.sinks {
		nt.start(s)
	}
	nt.mu.Unlock()
	<-ctx.Done()
	nt.mu.Lock()
	nt.ctx = nil // a later set starts no sender
	nt.mu.Unlock()
	nt.wg.Wait()
}

// deliver POSTs b, retrying network errors, 429 and 5xx with exponential backoff.
func (nt *notifier) deliver(ctx context.Context, s *sink, b []byte) {
	wait := nt.backoff
	for attempt := 1; ; attempt++ {
		code, err := nt.post(ctx, s.n.Webhook, b)
		if err == nil && code/100 == 2 {
			nt.met.notifications.WithLabelValues("sent").Inc()
			return
		}
		retryable := err != nil || code == http.StatusTooManyRequests || code >= 500
		if !retryable || attempt >= webhookAttempts || ctx.Err() != nil {
			nt.met.notifications.WithLabelValues("failed").Inc()
			nt.log.Error().Err(err).Int("code", code).Int("attempts", attempt).Str("notification", s.n.Name).Msg("webhook delivery failed")
			return
		}
		nt.log.Debug().Err(err).Int("code", code).Int("attempt", attempt).Str("notification", s.n.Name).Msg("webhook delivery retried")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (nt *notifier) post(ctx context.Context, url string, b []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lbdns-notifications")
	resp, err := nt.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}
