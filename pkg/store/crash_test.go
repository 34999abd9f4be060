package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdns/lbdns/pkg/model"
)

// crashChildEnv names the data_dir of the writer child of TestCrashSafety.
const crashChildEnv = "LBDNS_STORE_CRASH_CHILD"

// window is how many generations the writer keeps: transaction n writes monitor n and pool n
// (which refers to monitor n) and deletes generation n-window, so a consistent state is a
// contiguous run of generations with a monitor and a pool each.
const window = 8

// TestCrashChild is the writer process of TestCrashSafety; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashSafety")
	}
	s, err := Open(dir)
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	cat, err := s.Load()
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	next := 0
	for _, m := range cat.Monitors {
		if n, _ := strconv.Atoi(m.Description); n+1 > next {
			next = n + 1
		}
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for n := next; ; n++ {
		err := s.Update(func(tx *Tx) error {
			mon := model.Monitor{ID: id('a', n), Type: "tcp", Description: strconv.Itoa(n)}
			pool := model.Pool{ID: id('b', n), Name: "p" + strconv.Itoa(n), Monitor: mon.ID, Description: strings.Repeat("x", n%5000)}
			if err := tx.PutMonitor(mon); err != nil {
				return err
			}
			if err := tx.PutPool(pool); err != nil {
				return err
			}
			if n >= window {
				if err := tx.DeletePool(id('b', n-window)); err != nil {
					return err
				}
				return tx.DeleteMonitor(id('a', n-window))
			}
			return nil
		})
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(2)
		}
		// The acknowledgement goes out only after the commit returned (and fsync'd).
		fmt.Fprintf(out, "ack %d\n", n)
		out.Flush()
	}
}

// TestCrashSafety kills a writing child with SIGKILL at random moments and checks, after each
// kill, that the store opens, holds a consistent state and has every acknowledged write.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(20261123, 7))
	const rounds = 24
	lastAck := -1
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := make(chan int, 1<<16)
		done := make(chan error, 1)
		ready := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			var bad error
			for sc.Scan() {
				line := sc.Text()
				if line == "ready" {
					close(ready)
				} else if n, ok := strings.CutPrefix(line, "ack "); ok {
					v, _ := strconv.Atoi(n)
					acks <- v
				} else if strings.HasPrefix(line, "error ") {
					bad = fmt.Errorf("child: %s", line)
				}
			}
			close(acks)
			done <- bad
		}()
		// Let the child write for a random while after it opened the store, then kill it.
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the child did not open the store", round)
		}
		time.Sleep(time.Duration(rng.IntN(50_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := 0
		for n := range acks {
			if n != lastAck+1 {
				t.Fatalf("round %d: ack %d after %d", round, n, lastAck)
			}
			lastAck = n
			got++
		}

		s, err := Open(dir)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		cat, err := s.Load()
		s.Close()
		if err != nil {
			t.Fatalf("round %d: load after SIGKILL: %v", round, err)
		}
		// A write committed but killed before its ack is on disk: the next child continues after it.
		lastAck = checkGenerations(t, round, cat, lastAck)
		t.Logf("round %d: %d acknowledged writes this round, last %d", round, got, lastAck)
	}
	if lastAck < 0 {
		t.Fatal("the child never acknowledged a write")
	}
}

func checkGenerations(t *testing.T, round int, cat model.Catalog, lastAck int) (newest int) {
	t.Helper()
	mons := map[int]bool{}
	for _, m := range cat.Monitors {
		n, err := strconv.Atoi(m.Description)
		if err != nil || m.ID != id('a', n) {
			t.Fatalf("round %d: bad monitor %+v", round, m)
		}
		mons[n] = true
	}
	hi := -1
	for _, p := range cat.Pools {
		n, err := strconv.Atoi(strings.TrimPrefix(p.Name, "p"))
		if err != nil || p.ID != id('b', n) || len(p.Description) != n%5000 {
			t.Fatalf("round %d: bad pool %s", round, p.ID)
		}
		if !mons[n] || p.Monitor != id('a', n) {
			t.Fatalf("round %d: pool %d without its monitor (torn transaction)", round, n)
		}
		hi = max(hi, n)
	}
	if len(cat.Pools) != len(cat.Monitors) {
		t.Fatalf("round %d: %d pools, %d monitors (torn transaction)", round, len(cat.Pools), len(cat.Monitors))
	}
	if hi < lastAck {
		t.Fatalf("round %d: acknowledged write %d lost (newest on disk %d)", round, lastAck, hi)
	}
	// At most one write may be on disk without its acknowledgement (killed between commit and print).
	if hi > lastAck+1 {
		t.Fatalf("round %d: newest on disk %d, last acknowledged %d", round, hi, lastAck)
	}
	want := min(hi+1, window)
	if len(cat.Pools) != want {
		t.Fatalf("round %d: %d generations on disk, want %d", round, len(cat.Pools), want)
	}
	for n := hi - want + 1; n <= hi; n++ {
		if !mons[n] {
			t.Fatalf("round %d: generation %d missing", round, n)
		}
	}
	return hi
}
