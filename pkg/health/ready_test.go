package health

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
)

// readyLog is a log sink that, when the prober logs "health ready" (just before it closes
// Ready), keeps the View stored at that moment.
type readyLog struct {
	syncBuffer
	p    atomic.Pointer[Prober]
	seen atomic.Pointer[View]
}

func (l *readyLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(`"health ready"`)) {
		if p := l.p.Load(); p != nil {
			l.seen.CompareAndSwap(nil, p.View())
		}
	}
	return l.syncBuffer.Write(b)
}

// heldProber returns a Prober with one pool of n origins whose probes Run never starts (they
// are due in an hour): the test records their results itself, with p.record, as a worker would.
// The targets are returned in the pool's order.
func heldProber(t *testing.T, n int, timeout int) (*Prober, *readyLog, []*target) {
	t.Helper()
	logs := &readyLog{}
	p := New(Options{Now: newClock().Now, Log: zerolog.New(logs)})
	logs.p.Store(p)
	m := mon(model.MonitorTCP, func(m *model.Monitor) { m.Timeout, m.Interval = timeout, 3600 })
	origins := make([]model.Origin, n)
	for i := range origins {
		origins[i] = origin(fmt.Sprintf("o%d", i), fmt.Sprintf("192.0.2.%d", i+1), 80)
	}
	p.Update(catalog(m, model.Pool{ID: "p", Name: "p", Monitor: m.ID, Origins: origins}))
	p.mu.Lock()
	defer p.mu.Unlock()
	later := time.Now().Add(time.Hour)
	targets := make([]*target, n)
	for i, tg := range p.pools[0].targets {
		tg.next = later
		heap.Fix(&p.queue, tg.index)
		targets[i] = tg
	}
	return p, logs, targets
}

func runProber(t *testing.T, p *Prober) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitReady(t *testing.T, p *Prober) {
	t.Helper()
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second): // a guard only; nothing waits for it to pass
		t.Fatal("Ready not closed")
	}
}

// TestReadyViewHasFirstRound: once Ready is closed, View holds every first-round result
// (ruling 8). The last result is recorded from an OnChange callback, that is after a View
// without it was stored and before that publication returned: the window in which the
// publisher used to find every target probed and close Ready while View still showed that
// origin unknown. The View current when Ready closes is caught by the log line written just
// before, so the old order fails every time; View() read after Ready is checked too.
func TestReadyViewHasFirstRound(t *testing.T) {
	const n = 64
	for _, last := range []int{0, n / 2, n - 1} {
		t.Run(fmt.Sprint("last=", last), func(t *testing.T) {
			p, logs, targets := heldProber(t, n, 60) // the time bound (60 s) is never reached
			var injected atomic.Bool
			p.OnChange(func(v *View) {
				known := 0
				for i := 0; i < n; i++ {
					if v.Origin("p", i).State != Unknown {
						known++
					}
				}
				if known == n-1 && v.Origin("p", last).State == Unknown && !injected.Load() {
					injected.Store(true)
					p.record(targets[last], Result{Healthy: true})
				}
			})
			runProber(t, p)
			for i, tg := range targets {
				if i != last {
					p.record(tg, Result{Healthy: true})
				}
			}
			waitReady(t, p)
			if !injected.Load() {
				t.Fatal("no View with all origins but the last one known: the window was not exercised")
			}
			for name, v := range map[string]*View{"when Ready closed": logs.seen.Load(), "after Ready": p.View()} {
				if v == nil {
					t.Fatalf("no View %s; log: %s", name, logs)
				}
				for i := 0; i < n; i++ {
					if o := v.Origin("p", i); o.State != Healthy {
						t.Errorf("View %s: origin %d is %v, want its first-round result (healthy)", name, i, o.State)
					}
				}
				if st := v.Pool("p").State; st != PoolHealthy {
					t.Errorf("View %s: pool %v, want healthy", name, st)
				}
			}
			if s := logs.String(); !bytes.Contains([]byte(s), []byte(`"why":"first round done"`)) {
				t.Errorf("log: %s", s)
			}
		})
	}
}

// TestReadyTimeoutView: the time bound of ruling 8 still closes Ready while a first-round
// probe is outstanding, and the View then holds the results that are in, the rest unknown.
func TestReadyTimeoutView(t *testing.T) {
	const n = 8
	p, logs, targets := heldProber(t, n, 1) // bound: timeout 1 s × (retries 0 + 1)
	runProber(t, p)
	start := time.Now()
	for _, tg := range targets[:n-1] {
		p.record(tg, Result{Healthy: true})
	}
	waitReady(t, p)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("ready after %v with a probe outstanding, want the 1 s bound", d)
	}
	v := p.View()
	for i := 0; i < n-1; i++ {
		if o := v.Origin("p", i); o.State != Healthy {
			t.Errorf("origin %d is %v at ready, want healthy", i, o.State)
		}
	}
	if o := v.Origin("p", n-1); o.State != Unknown {
		t.Errorf("unprobed origin is %v at ready, want unknown", o.State)
	}
	if st := v.Pool("p").State; st != PoolDegraded {
		t.Errorf("pool %v at ready, want degraded (an unknown origin counts as down)", st)
	}
	if s := logs.String(); !bytes.Contains([]byte(s), []byte(`"why":"timeout"`)) {
		t.Errorf("log: %s", s)
	}
}
