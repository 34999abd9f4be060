package health

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdns/lbdns/pkg/model"
)

// countingListener accepts TCP connections on 127.0.0.1 and counts them.
type countingListener struct {
	l net.Listener
	n atomic.Int32
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cl.n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return cl
}

func (c *countingListener) port() uint16 { return uint16(c.l.Addr().(*net.TCPAddr).Port) }

func waitView(t *testing.T, views <-chan *View, ok func(*View) bool) *View {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v := <-views:
			if ok(v) {
				return v
			}
		case <-deadline:
			t.Fatal("no such view within 5s")
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	p, logs := testProber(t, Options{DataDir: dir, Registerer: reg})
	p.unit = 100 * time.Millisecond // interval 5 "seconds" = 500 ms
	a := listenCounting(t)
	closed := closedPort(t)
	m := mon(model.MonitorTCP)
	oa := origin("a", "127.0.0.1", a.port())
	cat := catalog(m,
		model.Pool{ID: "p1", Name: "one", Monitor: m.ID, Origins: []model.Origin{oa}},
		model.Pool{ID: "p2", Name: "two", Monitor: m.ID, Origins: []model.Origin{oa, origin("b", "127.0.0.1", closed)}},
	)
	p.Update(cat)
	views := make(chan *View, 100)
	p.OnChange(func(v *View) {
		select {
		case views <- v:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() { p.Run(ctx); close(done) }()

	select {
	case <-p.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("not ready after the first round")
	}
	v := p.View()
	if v.Origin("p1", 0).State != Healthy || v.Origin("p2", 0).State != Healthy || v.Origin("p2", 1).State != Unhealthy {
		t.Fatalf("first round: %+v %+v", v.Origin("p1", 0), v.Origin("p2", 1))
	}
	if v.Pool("p2").State != PoolDegraded {
		t.Fatalf("p2 %v", v.Pool("p2").State)
	}
	if n := a.n.Load(); n != 1 {
		t.Fatalf("origin shared by two pools probed %d times in the first round", n)
	}
	if !strings.Contains(logs.String(), "first round done") {
		t.Fatalf("ready log missing: %s", logs)
	}

	// Later rounds come once per interval, not once per pool.
	time.Sleep(1300*time.Millisecond - time.Since(start))
	if n := a.n.Load(); n < 2 || n > 5 {
		t.Fatalf("%d probes of the shared origin in 1.3 s at a 500 ms interval", n)
	}

	// The origin goes away: the next view says so.
	a.l.Close()
	waitView(t, views, func(v *View) bool { return v.Origin("p1", 0).State == Unhealthy })
	if st := p.View().Pool("p1"); st.State != PoolCritical || st.Healthy {
		t.Fatalf("p1 %+v", st)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not stop")
	}

	// Metrics.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
		if mf.GetName() == "lbdns_origin_healthy" {
			for _, mt := range mf.GetMetric() {
				if mt.GetGauge().GetValue() != 0 {
					t.Errorf("origin gauge %v = %v", mt.GetLabel(), mt.GetGauge().GetValue())
				}
			}
		}
	}
	for _, name := range []string{"lbdns_origin_healthy", "lbdns_pool_healthy", "lbdns_probe_duration_seconds", "lbdns_probes_total", "lbdns_health_changes_total"} {
		if !found[name] {
			t.Errorf("metric %s missing", name)
		}
	}

	// The state file seeds the next start.
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	var f savedFile
	if err := json.Unmarshal(b, &f); err != nil || len(f.Targets) != 2 {
		t.Fatalf("state file: %v %s", err, b)
	}
	p2, _ := testProber(t, Options{DataDir: dir})
	p2.Update(cat)
	v = p2.View()
	if o := v.Origin("p2", 1); o.State != Unhealthy || o.Reason != ReasonTCPFailed {
		t.Fatalf("restored b: %+v", o)
	}
	if o := v.Origin("p1", 0); o.State != Unhealthy || o.LastProbe.IsZero() {
		t.Fatalf("restored a: %+v", o)
	}
}

func TestReadyTimeout(t *testing.T) {
	// One worker, two origins whose probes take the whole timeout: the first round lasts two
	// timeouts, but Ready closes after timeout × (retries + 1) = one (ruling 8).
	block := make(chan struct{})
	defer close(block)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	port := portOf(t, srv.Listener.Addr().String())
	p, logs := testProber(t, Options{MaxConcurrency: 1})
	m := mon(model.MonitorHTTP, func(m *model.Monitor) { m.Timeout = 1 })
	p.Update(catalog(m, model.Pool{ID: "p", Name: "p", Monitor: m.ID, Origins: []model.Origin{
		origin("a", "127.0.0.1", port), origin("b", "localhost", port)}}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	select {
	case <-p.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("not ready")
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 2500*time.Millisecond {
		t.Fatalf("ready after %v, want about 1s", d)
	}
	if !strings.Contains(logs.String(), `"why":"timeout"`) {
		t.Fatalf("log: %s", logs)
	}
}

func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var calls atomic.Int32
	got := make(chan struct{}, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			w.WriteHeader(500) // the first delivery fails and is retried
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		got <- struct{}{}
	}))
	defer recv.Close()

	clk := newClock()
	p, _ := testProber(t, Options{Now: clk.Now, Notifications: []Notification{
		{Name: "ops", Webhook: recv.URL, EventSource: []string{"origin"}},
		{Name: "muted", Webhook: recv.URL, Pools: []string{"other"}},
	}})
	p.notify.backoff = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.notify.run(ctx)

	m := mon(model.MonitorTCP)
	p.Update(catalog(m, model.Pool{ID: "p1", Name: "web", Monitor: m.ID, Origins: []model.Origin{origin("a", "127.0.0.1", 1)}}))
	tgt := findTarget(t, p, "p1", 0)
	p.record(tgt, pass(5)) // first verdict healthy: not notified
	p.publish()
	clk.Advance(time.Minute)
	p.record(tgt, fail())
	p.publish()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivery")
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls, want 2 (500 then retry)", calls.Load())
	}
	var pl WebhookPayload
	mu.Lock()
	err := json.Unmarshal(bodies[0], &pl)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if pl.Name != "ops" || pl.Data.EventSource != SourceOrigin || pl.Data.NewHealth != HealthUnhealthy ||
		pl.Data.Pool.ID != "p1" || len(pl.Data.Origins) != 1 || pl.Data.Origins[0].FailureReason != ReasonTCPFailed ||
		!pl.Data.Timestamp.Equal(clk.Now()) || !strings.Contains(pl.Text, "Unhealthy") {
		t.Fatalf("payload %+v", pl)
	}
	// Nothing else arrives: the pool event is filtered out by event_source, the muted one by pool.
	select {
	case <-got:
		t.Fatal("unexpected delivery")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestNotificationFilters(t *testing.T) {
	on, off := model.Ptr(true), model.Ptr(false)
	ev := func(src, health string, initial bool) *Event {
		return &Event{EventSource: src, NewHealth: health, Initial: initial, Pool: EventPool{ID: "id1", Name: "web"}}
	}
	cases := []struct {
		name string
		n    Notification
		e    *Event
		f    *model.NotificationFilter
		want bool
	}{
		{"all", Notification{}, ev("origin", "Unhealthy", false), nil, true},
		{"initial healthy is quiet", Notification{}, ev("origin", "Healthy", true), nil, false},
		{"initial unhealthy is news", Notification{}, ev("pool", "Unhealthy", true), nil, true},
		{"pool id", Notification{Pools: []string{"id1"}}, ev("pool", "Healthy", false), nil, true},
		{"pool name", Notification{Pools: []string{"web"}}, ev("pool", "Healthy", false), nil, true},
		{"other pool", Notification{Pools: []string{"id2"}}, ev("pool", "Healthy", false), nil, false},
		{"source", Notification{EventSource: []string{"pool"}}, ev("origin", "Healthy", false), nil, false},
		{"new_health", Notification{NewHealth: []string{"healthy"}}, ev("origin", "Unhealthy", false), nil, false},
		{"filter disable origin", Notification{}, ev("origin", "Unhealthy", false), &model.NotificationFilter{Origin: &model.FilterOptions{Disable: true}}, false},
		{"filter disable origin leaves pool", Notification{}, ev("pool", "Unhealthy", false), &model.NotificationFilter{Origin: &model.FilterOptions{Disable: true}}, true},
		{"filter healthy only", Notification{}, ev("pool", "Unhealthy", false), &model.NotificationFilter{Pool: &model.FilterOptions{Healthy: on}}, false},
		{"filter healthy only passes healthy", Notification{}, ev("pool", "Healthy", false), &model.NotificationFilter{Pool: &model.FilterOptions{Healthy: on}}, true},
		{"filter unhealthy only", Notification{}, ev("origin", "Healthy", false), &model.NotificationFilter{Origin: &model.FilterOptions{Healthy: off}}, false},
	}
	for _, c := range cases {
		if got := c.n.matches(c.e, c.f); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPreview(t *testing.T) {
	a := listenCounting(t)
	p, _ := testProber(t, Options{})
	res := p.Preview(context.Background(), mon(model.MonitorTCP), model.Pool{ID: "p", Name: "p", Origins: []model.Origin{
		origin("up", "127.0.0.1", a.port()), origin("down", "127.0.0.1", closedPort(t))}})
	if len(res.Origins) != 2 || !res.Origins[0].Healthy || res.Origins[1].Healthy || res.Origins[1].FailureReason != ReasonTCPFailed {
		t.Fatalf("%+v", res)
	}
}

// TestSetNotifications: a reload replaces the webhook receivers; events after it go to the new
// set only.
func TestSetNotifications(t *testing.T) {
	got := make(chan string, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pl WebhookPayload
		_ = json.NewDecoder(r.Body).Decode(&pl)
		got <- pl.Name
	}))
	defer recv.Close()
	clk := newClock()
	p, _ := testProber(t, Options{Now: clk.Now, Notifications: []Notification{{Name: "old", Webhook: recv.URL}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.notify.run(ctx) }()
	defer func() { cancel(); <-done }()

	m := mon(model.MonitorTCP)
	p.Update(catalog(m, model.Pool{ID: "p1", Name: "web", Monitor: m.ID, Origins: []model.Origin{origin("a", "127.0.0.1", 1)}}))
	tgt := findTarget(t, p, "p1", 0)
	p.record(tgt, pass(5))
	p.publish()
	next := func(want string) {
		t.Helper()
		select {
		case name := <-got:
			if name != want {
				t.Fatalf("delivered to %q, want %q", name, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no delivery to %q", want)
		}
	}
	clk.Advance(time.Minute)
	p.record(tgt, fail())
	p.publish()
	next("old") // origin event
	next("old") // pool event

	p.SetNotifications([]Notification{{Name: "new", Webhook: recv.URL, EventSource: []string{"origin"}}})
	clk.Advance(time.Minute)
	p.record(tgt, pass(5))
	p.publish()
	next("new")
	select {
	case name := <-got:
		t.Fatalf("unexpected delivery to %q after the reload", name)
	case <-time.After(100 * time.Millisecond):
	}
}
