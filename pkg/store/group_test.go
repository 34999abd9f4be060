package store

import (
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

func TestMonitorGroupPutLoadDelete(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	g := model.MonitorGroup{ID: id('g', 1), Description: "d", CreatedOn: &now, ModifiedOn: &now, Members: []model.MonitorGroupMember{
		{MonitorID: id('a', 1), Enabled: model.Ptr(true), MustBeHealthy: true, CreatedAt: &now, UpdatedAt: &now},
		{MonitorID: id('a', 2), Enabled: model.Ptr(false), MonitoringOnly: true},
	}}
	if err := s.Update(func(tx *Tx) error { return tx.PutMonitorGroup(g) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cat, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.MonitorGroups) != 1 {
		t.Fatalf("after reopen: %d groups", len(cat.MonitorGroups))
	}
	got := cat.MonitorGroups[0]
	if got.ID != g.ID || got.Description != "d" || !got.CreatedOn.Equal(now) || len(got.Members) != 2 ||
		!got.Members[0].MustBeHealthy || *got.Members[1].Enabled || !got.Members[1].MonitoringOnly || !got.Members[0].CreatedAt.Equal(now) {
		t.Fatalf("group = %+v", got)
	}
	if err := s.Update(func(tx *Tx) error { return tx.DeleteMonitorGroup(g.ID) }); err != nil {
		t.Fatal(err)
	}
	if cat, _ := s.Load(); len(cat.MonitorGroups) != 0 || cat.MonitorGroups == nil {
		t.Fatalf("after delete: %+v", cat.MonitorGroups)
	}
}
