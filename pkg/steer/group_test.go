package steer

import (
	"testing"

	"github.com/lbdns/lbdns/pkg/model"
)

// A pool with a monitor group is monitored (its health counts); its monitor type is the one
// its enabled members share (smtp makes a mail load balancer).
func TestCompileMonitorGroup(t *testing.T) {
	cat := &model.Catalog{
		Monitors: []model.Monitor{{Name: "smtp1", Type: model.MonitorSMTP}, {Name: "smtp2", Type: model.MonitorSMTP}, {Name: "web"}},
		MonitorGroups: []model.MonitorGroup{
			{Name: "mail", Members: []model.MonitorGroupMember{{MonitorID: "smtp1"}, {MonitorID: "smtp2"}, {MonitorID: "web", Enabled: model.Ptr(false)}}},
			{Name: "mixed", Members: []model.MonitorGroupMember{{MonitorID: "smtp1"}, {MonitorID: "web"}}},
		},
		Pools: []model.Pool{
			{Name: "mx", MonitorGroup: "mail", Origins: []model.Origin{{Name: "a", Address: "mx1.example.net"}}},
			{Name: "mixed", MonitorGroup: "mixed", Origins: []model.Origin{{Name: "b", Address: "192.0.2.2"}}},
			{Name: "bare", Origins: []model.Origin{{Name: "c", Address: "192.0.2.3"}}},
		},
	}
	cat.Normalize()
	if ps := cat.Resolve(); len(ps) > 0 {
		t.Fatalf("Resolve: %v", ps)
	}
	s, err := Compile(cat, Options{PoP: testPoP})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Pools[0]; !p.Monitored || p.MonitorType != model.MonitorSMTP {
		t.Errorf("mail group pool: monitored %v type %q", p.Monitored, p.MonitorType)
	}
	if p := s.Pools[1]; !p.Monitored || p.MonitorType != "" {
		t.Errorf("mixed group pool: monitored %v type %q", p.Monitored, p.MonitorType)
	}
	if s.Pools[2].Monitored {
		t.Error("a pool without monitor or group is monitored")
	}
}
