package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

func id(kind byte, n int) string { return fmt.Sprintf("%c%031x", kind, n) }

func TestPutLoadDeleteReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	mon := model.Monitor{ID: id('a', 1), Type: "http", Path: "/health", Retries: model.Ptr(0), CreatedOn: &now}
	pool := model.Pool{
		ID: id('b', 1), Name: "p1", Monitor: mon.ID, Healthy: model.Ptr(true),
		Origins: []model.Origin{{Name: "o1", Address: "127.0.0.1", Weight: model.Ptr(0.5), Healthy: model.Ptr(false)}},
	}
	lb := model.LoadBalancer{ID: id('c', 1), Name: "www.example.com", DefaultPools: []string{pool.ID}, FallbackPool: pool.ID}
	err = s.Update(func(tx *Tx) error {
		if err := tx.PutMonitor(mon); err != nil {
			return err
		}
		if err := tx.PutPool(pool); err != nil {
			return err
		}
		return tx.PutLoadBalancer(lb)
	})
	if err != nil {
		t.Fatal(err)
	}
	if pool.Origins[0].Healthy == nil {
		t.Fatal("PutPool changed the caller's origins")
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
	if len(cat.Monitors) != 1 || len(cat.Pools) != 1 || len(cat.LoadBalancers) != 1 {
		t.Fatalf("after reopen: %d monitors, %d pools, %d LBs", len(cat.Monitors), len(cat.Pools), len(cat.LoadBalancers))
	}
	if got := cat.Monitors[0]; got.Path != "/health" || got.Retries == nil || *got.Retries != 0 || !got.CreatedOn.Equal(now) {
		t.Errorf("monitor = %+v", got)
	}
	if got := cat.Pools[0]; got.Healthy != nil || got.Origins[0].Healthy != nil || *got.Origins[0].Weight != 0.5 {
		t.Errorf("pool = %+v (read-only health must not be stored)", got)
	}
	if got := cat.LoadBalancers[0]; got.Name != "www.example.com" || got.DefaultPools[0] != pool.ID {
		t.Errorf("lb = %+v", got)
	}

	// A failing transaction leaves nothing behind.
	boom := errors.New("boom")
	err = s.Update(func(tx *Tx) error {
		if err := tx.DeleteLoadBalancer(lb.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	if cat, _ := s.Load(); len(cat.LoadBalancers) != 1 {
		t.Fatal("rolled-back delete took effect")
	}
	err = s.Update(func(tx *Tx) error {
		return errors.Join(tx.DeleteLoadBalancer(lb.ID), tx.DeletePool(pool.ID), tx.DeleteMonitor(mon.ID), tx.DeleteMonitor("missing"))
	})
	if err != nil {
		t.Fatal(err)
	}
	cat, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if cat.Monitors == nil || cat.Pools == nil || cat.LoadBalancers == nil {
		t.Fatal("empty kinds must load as empty slices, not nil")
	}
	if n := len(cat.Monitors) + len(cat.Pools) + len(cat.LoadBalancers); n != 0 {
		t.Fatalf("%d objects left after delete", n)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	s2, err := Open(dir)
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded while the first holds the lock")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("error = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 5*OpenTimeout {
		t.Fatalf("second Open took %s", d)
	}
	t.Logf("second Open: %v", err)
}

func TestOpenCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != filepath.Join(dir, FileName) {
		t.Fatalf("Path = %s", s.Path())
	}
}

func TestPutWithoutID(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(func(tx *Tx) error { return tx.PutPool(model.Pool{Name: "x"}) }); err == nil {
		t.Fatal("PutPool without id succeeded")
	}
}
