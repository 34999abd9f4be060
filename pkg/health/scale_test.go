package health

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lbdns/lbdns/pkg/model"
)

// TestScale5000 measures the prober with 5,000 origins at a 10 s interval: half are real HTTP
// listeners (served by a child process, so their cost is not counted), half closed ports on
// other loopback addresses. It is skipped unless LBDNS_SCALE=1; LBDNS_SCALE_SECONDS sets the
// measured time (default 30), LBDNS_SCALE_TYPE the monitor type (http or tcp).
//
//	LBDNS_SCALE=1 go test -run TestScale5000 -v ./pkg/health/
func TestScale5000(t *testing.T) {
	if os.Getenv("LBDNS_SCALE") != "1" {
		t.Skip("set LBDNS_SCALE=1 to run the scale measurement")
	}
	const origins, listeners, perPool = 5000, 2500, 100
	secs := 30
	if s, err := strconv.Atoi(os.Getenv("LBDNS_SCALE_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	typ := model.MonitorHTTP
	if os.Getenv("LBDNS_SCALE_TYPE") == "tcp" {
		typ = model.MonitorTCP
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleServer$")
	cmd.Env = append(os.Environ(), "LBDNS_SCALE_SERVER="+strconv.Itoa(listeners))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var ports []uint16
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &ports); err == nil {
			break
		}
	}
	if len(ports) != listeners {
		t.Fatalf("child gave %d ports", len(ports))
	}
	go io.Copy(io.Discard, stdout)

	closed := closedPort(t)
	m := model.Monitor{ID: "scale", Type: typ, Path: "/health", Timeout: 5, Retries: model.Ptr(2), Interval: 10, ExpectedCodes: "200"}
	cat := &model.Catalog{Monitors: []model.Monitor{m}}
	var pool *model.Pool
	for i := 0; i < origins; i++ {
		if i%perPool == 0 {
			cat.Pools = append(cat.Pools, model.Pool{ID: fmt.Sprintf("%032x", i/perPool), Name: fmt.Sprintf("pool-%d", i/perPool), Monitor: m.ID})
			pool = &cat.Pools[len(cat.Pools)-1]
		}
		o := origin(fmt.Sprintf("o%d", i), "127.0.0.1", 0)
		if i%2 == 0 {
			o.Port = ports[i/2]
		} else {
			j := i / 2
			o.Address, o.Port = fmt.Sprintf("127.0.%d.%d", 1+j/250, 1+j%250), closed
		}
		pool.Origins = append(pool.Origins, o)
	}

	reg := prometheus.NewRegistry()
	p := New(Options{Log: zerolog.Nop(), Registerer: reg})
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	p.Update(cat)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	<-p.Ready()
	firstRound := time.Since(start)
	var ruReady syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ruReady)
	readyAt := time.Now()
	var peakHeap, peakGoroutines uint64
	tick := time.NewTicker(time.Second)
	for time.Since(start) < time.Duration(secs)*time.Second {
		<-tick.C
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		peakGoroutines = max(peakGoroutines, uint64(runtime.NumGoroutine()))
	}
	tick.Stop()
	wall := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	steady := time.Duration(ru1.Utime.Nano()-ruReady.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ruReady.Stime.Nano())
	steadyWall := time.Since(readyAt)
	cancel()
	<-done

	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	var probes, fails float64
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "lbdns_probes_total" {
			for _, mt := range mf.GetMetric() {
				probes += mt.GetCounter().GetValue()
				for _, l := range mt.GetLabel() {
					if l.GetValue() == "failure" {
						fails += mt.GetCounter().GetValue()
					}
				}
			}
		}
	}
	v := p.View()
	healthy := 0
	for _, id := range v.PoolIDs() {
		healthy += v.Pool(id).HealthyOrigins
	}
	t.Logf("%d origins (%d %s listeners, %d closed ports), interval 10 s, %d CPUs", origins, listeners, typ, origins-listeners, runtime.NumCPU())
	t.Logf("first round (Ready) %v; measured %v", firstRound.Round(time.Millisecond), wall.Round(time.Millisecond))
	t.Logf("probes %.0f (%.0f failed) = %.0f/s; healthy origins now %d", probes, fails, probes/wall.Seconds(), healthy)
	t.Logf("CPU %v = %.1f%% of one core (user %v, sys %v)", cpu.Round(time.Millisecond), 100*cpu.Seconds()/wall.Seconds(),
		time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()).Round(time.Millisecond), time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano()).Round(time.Millisecond))
	t.Logf("after the first round: CPU %v over %v = %.1f%% of one core", steady.Round(time.Millisecond), steadyWall.Round(time.Millisecond), 100*steady.Seconds()/steadyWall.Seconds())
	t.Logf("peak heap in use %.1f MiB, max RSS %.1f MiB, peak goroutines %d", float64(peakHeap)/(1<<20), float64(ru1.Maxrss)/1024, peakGoroutines)
	if healthy != listeners {
		t.Errorf("%d healthy origins, want %d", healthy, listeners)
	}
}

// TestScaleServer is the child process of TestScale5000: it serves HTTP on n loopback
// listeners, prints their ports as one JSON line and exits when its stdin closes.
func TestScaleServer(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LBDNS_SCALE_SERVER"))
	if n == 0 {
		t.Skip("child process of TestScale5000")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	ports := make([]uint16, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, uint16(l.Addr().(*net.TCPAddr).Port))
		go http.Serve(l, h)
	}
	b, _ := json.Marshal(ports)
	fmt.Printf("%s\n", b)
	io.Copy(io.Discard, os.Stdin)
}
