package health

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"context"
)

// StateFile is the name of the health state file in data_dir.
const StateFile = "health.json"

const stateVersion = 1

// savedTarget is one target's last known state on disk.
type savedTarget struct {
	Monitor   string    `json:"monitor"`
	Address   string    `json:"address"`
	Port      uint16    `json:"port"`
	Host      string    `json:"host"`
	State     string    `json:"state"`
	Reason    string    `json:"reason"`
	Code      int       `json:"code"`
	RTTMS     float64   `json:"rtt_ms"`
	EWMAMS    float64   `json:"ewma_ms"`
	HasEWMA   bool      `json:"has_ewma"`
	Changed   time.Time `json:"changed"`
	LastProbe time.Time `json:"last_probe"`
}

type savedFile struct {
	Version int           `json:"version"`
	Saved   time.Time     `json:"saved"`
	Targets []savedTarget `json:"targets"`
	// Pools is each monitored pool's last verdict (id → healthy), so that a restart does not
	// announce again, as a first verdict, a pool health nothing changed.
	Pools map[string]bool `json:"pools,omitempty"`
}

func (s savedTarget) key() tkey {
	return tkey{monitor: s.Monitor, address: s.Address, port: s.Port, host: s.Host}
}

// track seeds a target's state machine: the counters start afresh, so consecutive_up/down
// apply from the restored state.
func (s savedTarget) track() track {
	return track{state: parseState(s.State), reason: s.Reason, code: s.Code,
		rtt: time.Duration(s.RTTMS * float64(time.Millisecond)), ewma: s.EWMAMS, hasEWMA: s.HasEWMA,
		changed: s.Changed, lastProbe: s.LastProbe}
}

// load reads the state file; a missing or unreadable file seeds nothing (logged).
func (p *Prober) load() map[tkey]savedTarget {
	out := map[tkey]savedTarget{}
	if p.dataDir == "" {
		return out
	}
	path := filepath.Join(p.dataDir, StateFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return out
	}
	var f savedFile
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err == nil && f.Version != stateVersion {
		err = fmt.Errorf("version %d, want %d", f.Version, stateVersion)
	}
	if err != nil {
		p.log.Warn().Err(err).Str("file", path).Msg("health state not restored")
		return out
	}
	for _, t := range f.Targets {
		out[t.key()] = t
	}
	for id, healthy := range f.Pools {
		p.poolMemo[id] = poolMemo{verdict: true, vhealthy: healthy}
	}
	p.log.Info().Int("targets", len(out)).Str("file", path).Msg("health state restored")
	return out
}

// save writes the state of every target with a verdict: temp file, fsync, rename, fsync dir.
func (p *Prober) save() error {
	if p.dataDir == "" {
		return nil
	}
	p.mu.Lock()
	f := savedFile{Version: stateVersion, Saved: p.now(), Targets: make([]savedTarget, 0, len(p.targets))}
	for k, t := range p.targets {
		if t.tr.state == Unknown {
			continue
		}
		f.Targets = append(f.Targets, savedTarget{Monitor: k.monitor, Address: k.address, Port: k.port, Host: k.host,
			State: t.tr.state.String(), Reason: t.tr.reason, Code: t.tr.code,
			RTTMS: float64(t.tr.rtt) / float64(time.Millisecond), EWMAMS: t.tr.ewma, HasEWMA: t.tr.hasEWMA,
			Changed: t.tr.changed, LastProbe: t.tr.lastProbe})
	}
	for id, m := range p.poolMemo {
		if m.verdict {
			if f.Pools == nil {
				f.Pools = map[string]bool{}
			}
			f.Pools[id] = m.vhealthy
		}
	}
	p.mu.Unlock()
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(p.dataDir, StateFile), b)
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// saver writes the state file after state changes, at most once a second.
func (p *Prober) saver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.saveKick:
		}
		if err := p.save(); err != nil {
			p.log.Error().Err(err).Msg("saving health state")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
