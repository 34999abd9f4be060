package health

import "time"

// GroupMember is one monitor's latest verdict for an origin inside a monitor group
// (seed-model §8.2). Each member's last result counts until its next run.
type GroupMember struct {
	Healthy        bool
	RTT            time.Duration // of the member's last successful probe; 0 = none
	MustBeHealthy  bool          // a failure makes the origin unhealthy whatever the others say
	MonitoringOnly bool          // runs and alerts, but does not vote
	Disabled       bool          // neither probes nor votes
}

// GroupHealthy aggregates a monitor group's members for one origin: unhealthy when an
// enabled must_be_healthy member fails, else unhealthy only when more than half of the voting
// members (enabled, not monitoring_only) fail. With no voting member and no failing
// must_be_healthy member the origin is healthy (Cloudflare is silent; nothing says it is down).
// The prober applies it per origin of a pool with a monitor_group, over the members that
// have a result (each member's last result counts until its next run).
func GroupHealthy(members []GroupMember) bool {
	votes, down := 0, 0
	for _, m := range members {
		if m.Disabled {
			continue
		}
		if m.MustBeHealthy && !m.Healthy {
			return false
		}
		if m.MonitoringOnly {
			continue
		}
		votes++
		if !m.Healthy {
			down++
		}
	}
	return 2*down <= votes
}

// GroupRTT is the dynamic-steering RTT of an origin in a monitor group: the mean over the
// enabled, non-monitoring-only members that have one.
func GroupRTT(members []GroupMember) (time.Duration, bool) {
	var sum time.Duration
	n := 0
	for _, m := range members {
		if m.Disabled || m.MonitoringOnly || m.RTT <= 0 {
			continue
		}
		sum += m.RTT
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / time.Duration(n), true
}
