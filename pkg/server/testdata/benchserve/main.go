// Command benchserve runs pkg/server alone on an lbdns config file (zones and load balancers,
// nothing else: no API, no prober) so that the query path can be measured against the peers of
// ../shared/bench before cmd/lbdns exists:
//
//	go build -o /tmp/benchserve ./pkg/server/testdata/benchserve
//	cd ../shared/bench && LBDNS_CMD="/tmp/benchserve -config lbdns-lb.yaml" ./run-peer.sh lbdns 8 queries-lb.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/config"
	"github.com/lbdns/lbdns/pkg/server"
	"github.com/lbdns/lbdns/pkg/snapshot"
	"github.com/lbdns/lbdns/pkg/zone"
)

func main() {
	path := flag.String("config", "", "lbdns config file")
	sockets := flag.Int("sockets", 0, "UDP sockets per address (0: GOMAXPROCS)")
	profile := flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cfg, ps := config.Load(*path)
	if len(ps) > 0 {
		for _, p := range ps {
			if !p.Warning {
				fmt.Fprintln(os.Stderr, p.Path, p.Msg)
				os.Exit(1)
			}
		}
	}
	var zones []*zone.Zone
	for _, zc := range cfg.Zones {
		f := zc.File
		if !filepath.IsAbs(f) {
			f = filepath.Join(filepath.Dir(cfg.File), f)
		}
		z, err := zone.Load(zc.Name, f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		zones = append(zones, z)
	}
	snap, err := snapshot.Build(snapshot.Input{Zones: zones, Catalog: cfg.Catalog()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var p atomic.Pointer[snapshot.Snapshot]
	p.Store(snap)
	s, err := server.New(server.Options{Listen: cfg.Server.Listen, Snapshots: &p, UDPSockets: *sockets,
		Log: zerolog.New(os.Stderr), Registerer: prometheus.NewRegistry()})
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Shutdown(context.Background())
}
