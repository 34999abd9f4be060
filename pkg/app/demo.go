package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// DemoOrigins are the origin listeners of `make run`: small HTTP servers on loopback addresses
// whose /health answers 200, or 503 after `POST /down` (until `POST /up`). The demo config's
// monitor probes them, so taking them down shows failover in `dig` with no network.
type DemoOrigins struct {
	servers []*http.Server
}

// DemoOriginAddrs are the listeners StartDemoOrigins opens (zones/demo.yaml names them).
var DemoOriginAddrs = []string{"127.0.0.11:8081", "127.0.0.12:8081", "127.0.0.21:8081", "127.0.0.22:8081"}

// StartDemoOrigins starts the demo origin listeners.
func StartDemoOrigins(ctx context.Context, log zerolog.Logger) (*DemoOrigins, error) {
	d := &DemoOrigins{}
	for _, addr := range DemoOriginAddrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("demo origin %s: %w", addr, err)
		}
		var down atomic.Bool
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
			if down.Load() {
				http.Error(w, "down (demo)", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		mux.HandleFunc("POST /down", func(w http.ResponseWriter, _ *http.Request) {
			down.Store(true)
			log.Info().Str("origin", addr).Msg("demo origin now answers 503")
			fmt.Fprintln(w, addr, "is down")
		})
		mux.HandleFunc("POST /up", func(w http.ResponseWriter, _ *http.Request) {
			down.Store(false)
			log.Info().Str("origin", addr).Msg("demo origin now answers 200")
			fmt.Fprintln(w, addr, "is up")
		})
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		d.servers = append(d.servers, s)
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Str("origin", addr).Msg("demo origin stopped")
			}
		}()
	}
	log.Info().Strs("origins", DemoOriginAddrs).Msg("demo origins listening (POST /down or /up to flip /health)")
	return d, nil
}

// Close stops the listeners.
func (d *DemoOrigins) Close() {
	for _, s := range d.servers {
		_ = s.Close()
	}
}
