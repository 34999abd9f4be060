package health

import "time"

// State is an origin's health.
type State uint8

// Origin states. Unknown is the state before the first result (and of origins that are not
// probed); monitored origins still unknown count as down (ruling 8).
const (
	Unknown State = iota
	Healthy
	Unhealthy
)

func (s State) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	}
	return "unknown"
}

func parseState(s string) State {
	switch s {
	case "healthy":
		return Healthy
	case "unhealthy":
		return Unhealthy
	}
	return Unknown
}

// rttAlpha is the weight of a new sample in the RTT average (ruling 12).
const rttAlpha = 0.2

// track is the state machine of one probed target (ruling 14).
type track struct {
	state     State
	up, down  int // consecutive passed / failed probes
	reason    string
	code      int
	rtt       time.Duration
	ewma      float64 // ms, of successful probes
	hasEWMA   bool
	changed   time.Time
	lastProbe time.Time
}

// apply records one probe result and says whether the state changed, and from what. The
// first result of an unknown target decides its state at once (so the start-up round of ruling
// 8 is conclusive); afterwards a healthy target turns unhealthy after `down` failed probes in a
// row and an unhealthy one turns healthy after `up` passed probes in a row.
func (t *track) apply(r Result, up, down int, now time.Time) (from State, changed bool) {
	from = t.state
	t.reason, t.code, t.rtt, t.lastProbe = r.Reason, r.Code, r.RTT, now
	if r.Healthy {
		t.up, t.down = t.up+1, 0
		ms := float64(r.RTT) / float64(time.Millisecond)
		if t.hasEWMA {
			t.ewma = rttAlpha*ms + (1-rttAlpha)*t.ewma
		} else {
			t.ewma, t.hasEWMA = ms, true
		}
	} else {
		t.up, t.down = 0, t.down+1
	}
	switch {
	case t.state == Unknown && r.Healthy, t.state == Unhealthy && t.up >= up:
		t.state = Healthy
	case t.state == Unknown && !r.Healthy, t.state == Healthy && t.down >= down:
		t.state = Unhealthy
	}
	if t.state != from {
		t.changed = now
		return from, true
	}
	return from, false
}
