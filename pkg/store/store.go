// Package store keeps the load-balancing objects created through the management API durable in
// data_dir: one bbolt file, `lbdns.db`, with a bucket per kind (monitors, monitor_groups,
// pools, load_balancers) holding each object as JSON under its id. Objects declared in the config
// file, health and events are not stored here.
//
// Every write is one bbolt transaction that is fsync'd before Update returns, so a crash at any
// moment leaves either the state before the write or the state after it, never a mix. The file
// is locked while open: a second process (or a second Open in the same process) waiting for it
// gives up after OpenTimeout with an error that says so. The package imports only pkg/model
// and bbolt.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/lbdns/lbdns/pkg/model"
)

// FileName is the name of the database file inside data_dir.
const FileName = "lbdns.db"

// OpenTimeout bounds how long Open waits for the file lock held by another opener.
const OpenTimeout = time.Second

// schemaVersion is written to the meta bucket; a file with a newer version is refused, so an
// old binary never misreads state written by a newer one.
const schemaVersion = 1

var (
	bucketMeta          = []byte("meta")
	bucketMonitors      = []byte("monitors")
	bucketMonitorGroups = []byte("monitor_groups")
	bucketPools         = []byte("pools")
	bucketLoadBalancers = []byte("load_balancers")
	keySchema           = []byte("schema")
)

// ErrLocked is returned (wrapped) by Open when another opener holds the database.
var ErrLocked = errors.New("the database is in use by another lbdns process")

// Store is an open database. Its methods are safe for concurrent use; bbolt serialises writers.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (creating if needed) dir/lbdns.db. dir is created with mode 0750 when missing.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: data_dir is empty")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data_dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: OpenTimeout,
		NoSync:  false, // every commit is fsync'd: a 2xx from the API means on disk (ruling 30)
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: %w (waited %s for its lock)", path, ErrLocked, OpenTimeout)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketMonitors, bucketMonitorGroups, bucketPools, bucketLoadBalancers} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v != nil {
			var n int
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("schema version %q: %w", v, err)
			}
			if n > schemaVersion {
				return fmt.Errorf("schema version %d is newer than this lbdns understands (%d)", n, schemaVersion)
			}
			return nil
		}
		return meta.Put(keySchema, []byte(fmt.Sprint(schemaVersion)))
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", s.path, err)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock.
func (s *Store) Close() error { return s.db.Close() }

// Load reads every stored object. Objects come back in id order; the slices are never nil.
func (s *Store) Load() (model.Catalog, error) {
	cat := model.Catalog{
		Monitors:      []model.Monitor{},
		MonitorGroups: []model.MonitorGroup{},
		Pools:         []model.Pool{},
		LoadBalancers: []model.LoadBalancer{},
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := loadBucket(tx, bucketMonitors, &cat.Monitors); err != nil {
			return err
		}
		if err := loadBucket(tx, bucketMonitorGroups, &cat.MonitorGroups); err != nil {
			return err
		}
		if err := loadBucket(tx, bucketPools, &cat.Pools); err != nil {
			return err
		}
		return loadBucket(tx, bucketLoadBalancers, &cat.LoadBalancers)
	})
	if err != nil {
		return model.Catalog{}, fmt.Errorf("store: load %s: %w", s.path, err)
	}
	return cat, nil
}

func loadBucket[T any](tx *bolt.Tx, name []byte, out *[]T) error {
	return tx.Bucket(name).ForEach(func(k, v []byte) error {
		var obj T
		if err := json.Unmarshal(v, &obj); err != nil {
			return fmt.Errorf("%s/%s: %w", name, k, err)
		}
		*out = append(*out, obj)
		return nil
	})
}

// Update runs fn in one read-write transaction and commits it (with fsync) when fn returns
// nil; any error rolls everything fn did back.
func (s *Store) Update(fn func(tx *Tx) error) error {
	err := s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Tx is a write transaction handed to the function of Update. It is valid only inside it.
type Tx struct {
	tx *bolt.Tx
}

// PutMonitor stores m under m.ID, replacing any previous version.
func (t *Tx) PutMonitor(m model.Monitor) error { return put(t.tx, bucketMonitors, m.ID, m) }

// PutMonitorGroup stores g under g.ID, replacing any previous version.
func (t *Tx) PutMonitorGroup(g model.MonitorGroup) error {
	return put(t.tx, bucketMonitorGroups, g.ID, g)
}

// PutPool stores p under p.ID. Read-only health flags are not stored.
func (t *Tx) PutPool(p model.Pool) error {
	p.Healthy = nil
	if p.Origins != nil {
		origins := make([]model.Origin, len(p.Origins))
		copy(origins, p.Origins)
		for i := range origins {
			origins[i].Healthy = nil
		}
		p.Origins = origins
	}
	return put(t.tx, bucketPools, p.ID, p)
}

// PutLoadBalancer stores lb under lb.ID.
func (t *Tx) PutLoadBalancer(lb model.LoadBalancer) error {
	return put(t.tx, bucketLoadBalancers, lb.ID, lb)
}

// DeleteMonitor removes the monitor id; a missing id is not an error.
func (t *Tx) DeleteMonitor(id string) error { return del(t.tx, bucketMonitors, id) }

// DeleteMonitorGroup removes the monitor group id; a missing id is not an error.
func (t *Tx) DeleteMonitorGroup(id string) error { return del(t.tx, bucketMonitorGroups, id) }

// DeletePool removes the pool id; a missing id is not an error.
func (t *Tx) DeletePool(id string) error { return del(t.tx, bucketPools, id) }

// DeleteLoadBalancer removes the load balancer id; a missing id is not an error.
func (t *Tx) DeleteLoadBalancer(id string) error { return del(t.tx, bucketLoadBalancers, id) }

func put(tx *bolt.Tx, bucket []byte, id string, obj any) error {
	if id == "" {
		return fmt.Errorf("%s: object without id", bucket)
	}
	v, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", bucket, id, err)
	}
	return tx.Bucket(bucket).Put([]byte(id), v)
}

func del(tx *bolt.Tx, bucket []byte, id string) error {
	if id == "" {
		return fmt.Errorf("%s: delete without id", bucket)
	}
	return tx.Bucket(bucket).Delete([]byte(id))
}
