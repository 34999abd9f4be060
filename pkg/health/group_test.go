package health

import (
	"testing"
	"time"
)

func TestGroupHealthy(t *testing.T) {
	up, down := GroupMember{Healthy: true}, GroupMember{}
	mustDown := GroupMember{MustBeHealthy: true}
	cases := []struct {
		name string
		m    []GroupMember
		want bool
	}{
		{"all up", []GroupMember{up, up, up}, true},
		{"one of three down", []GroupMember{up, up, down}, true},
		{"half down is not more than half", []GroupMember{up, down}, true},
		{"two of three down", []GroupMember{up, down, down}, false},
		{"must_be_healthy fails", []GroupMember{up, up, up, mustDown}, false},
		{"must_be_healthy passes", []GroupMember{{Healthy: true, MustBeHealthy: true}, down, up}, true},
		{"monitoring_only does not vote", []GroupMember{up, {MonitoringOnly: true}, {MonitoringOnly: true}}, true},
		{"disabled does not vote", []GroupMember{down, {Disabled: true, Healthy: true}, {Disabled: true, Healthy: true}}, false},
		{"disabled must_be_healthy ignored", []GroupMember{up, {Disabled: true, MustBeHealthy: true}}, true},
		{"no voters", []GroupMember{{MonitoringOnly: true}}, true},
	}
	for _, c := range cases {
		if got := GroupHealthy(c.m); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	rtt, ok := GroupRTT([]GroupMember{{RTT: 10 * time.Millisecond}, {RTT: 30 * time.Millisecond}, {RTT: time.Second, MonitoringOnly: true}, {}})
	if !ok || rtt != 20*time.Millisecond {
		t.Errorf("rtt %v %v", rtt, ok)
	}
}
