package nsqrstests

// Spec §6.3 with go-nsq v1.1.0: 50,000 messages with --mem-queue-size=100, a consumer that
// FINs some, holds others in flight and REQs two with a delay, three DPUBs pending, then
// SIGTERM and a restart on the same --data-path: every message not FIN'd before the
// shutdown is delivered exactly once afterwards. Our extension (skipped against the
// reference, which delivers deferred messages at once after a restart): deferred messages
// still wait for the rest of their delay.

import (
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

// startNsqdOn is startNsqd with a given data path, so that a test can restart a daemon on
// the same directory. The daemon is stopped (SIGTERM, then SIGKILL) at cleanup.
func startNsqdOn(t *testing.T, dataPath string, args ...string) *nsqdProc {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p := &nsqdProc{
			TCPAddr:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			out:      &lockedBuffer{},
			done:     make(chan struct{}),
		}
		if p.TCPAddr == p.HTTPAddr {
			continue
		}
		full := append([]string{
			"--tcp-address=" + p.TCPAddr,
			"--http-address=" + p.HTTPAddr,
			"--data-path=" + dataPath,
		}, args...)
		p.cmd = exec.Command(nsqdBin(), full...)
		p.cmd.Stdout = p.out
		p.cmd.Stderr = p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", nsqdBin(), err)
		}
		go func() { _ = p.cmd.Wait(); close(p.done) }()
		if err := p.waitTCP(15 * time.Second); err != nil {
			lastErr = err
			p.stop()
			continue
		}
		t.Cleanup(func() {
			p.stop()
			if t.Failed() {
				t.Logf("--- nsqd output (%s) ---\n%s", p.TCPAddr, tail(p.out.String(), 40))
			}
		})
		return p
	}
	t.Fatalf("nsqd did not start: %v", lastErr)
	return nil
}

// stopGracefully sends SIGTERM and returns the exit status.
func (p *nsqdProc) stopGracefully(t *testing.T) int {
	t.Helper()
	p.stop()
	<-p.done
	if p.cmd.ProcessState == nil {
		t.Fatalf("nsqd exit status unknown")
	}
	return p.cmd.ProcessState.ExitCode()
}

// arrivals records how often, and first when, each body was delivered.
type arrivals struct {
	mu    sync.Mutex
	count map[string]int
	first map[string]time.Time
}

func newArrivals() *arrivals {
	return &arrivals{count: map[string]int{}, first: map[string]time.Time{}}
}

func (a *arrivals) add(body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count[body]++
	if _, ok := a.first[body]; !ok {
		a.first[body] = time.Now()
	}
}

func (a *arrivals) hasAll(want map[string]bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for b := range want {
		if a.count[b] == 0 {
			return false
		}
	}
	return true
}

func TestPersistenceSigtermRestartExactlyOnce(t *testing.T) {
	t.Parallel()
	const (
		n     = 50000
		fin   = 1000
		delay = 8 * time.Second
	)
	flags := []string{"--mem-queue-size=100", "--max-bytes-per-file=262144"}
	dir := t.TempDir()
	d := startNsqdOn(t, dir, flags...)

	// Phase 1 consumer: FIN the first `fin`, then hold everything else in flight.
	var (
		mu       sync.Mutex
		finned   = map[string]bool{}
		held     []*nsq.Message
		received int64
	)
	cfg := nsq.NewConfig()
	cfg.MaxInFlight = 50
	c1, err := nsq.NewConsumer("t", "c", cfg)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	c1.SetLogger(quietLogger, nsq.LogLevelError)
	c1.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		m.DisableAutoResponse()
		k := atomic.AddInt64(&received, 1)
		mu.Lock()
		defer mu.Unlock()
		if k <= fin {
			finned[string(m.Body)] = true
			m.Finish()
			return nil
		}
		held = append(held, m)
		if k == fin+5 {
			go c1.ChangeMaxInFlight(0)
		}
		return nil
	}))
	if err := c1.ConnectToNSQD(d.TCPAddr); err != nil {
		t.Fatalf("ConnectToNSQD: %v", err)
	}
	stopped := false
	stopC1 := func() {
		if stopped {
			return
		}
		stopped = true
		mu.Lock()
		for _, m := range held {
			m.Finish() // the old daemon is gone; this only lets go-nsq finish its cleanup
		}
		mu.Unlock()
		c1.Stop()
		select {
		case <-c1.StopChan:
		case <-time.After(10 * time.Second):
			t.Errorf("phase 1 consumer did not stop within 10s")
		}
	}
	t.Cleanup(stopC1)

	all := bodies("g", n)
	p := newProducer(t, d.TCPAddr, nil)
	for i := 0; i < n; i += 1000 {
		if err := p.MultiPublish("t", toBytes(all[i:i+1000])); err != nil {
			t.Fatalf("MultiPublish: %v", err)
		}
	}
	sent := map[string]time.Time{}
	dpubs := bodies("dpub", 3)
	for _, b := range dpubs {
		sent[b] = time.Now()
		if err := p.DeferredPublish("t", delay, []byte(b)); err != nil {
			t.Fatalf("DeferredPublish: %v", err)
		}
	}
	waitFor(t, 30*time.Second, "the phase 1 consumer to hold messages", func() bool {
		return atomic.LoadInt64(&received) >= fin+5
	})
	time.Sleep(300 * time.Millisecond) // the rest of the RDY window arrives and is held
	mu.Lock()
	if len(held) < 3 {
		mu.Unlock()
		t.Fatalf("expected messages held in flight, got %d", len(held))
	}
	var requeued []string
	for _, m := range held[:2] {
		requeued = append(requeued, string(m.Body))
		sent[string(m.Body)] = time.Now()
		m.RequeueWithoutBackoff(delay)
	}
	held = held[2:]
	inFlight := len(held)
	finnedCount := len(finned)
	mu.Unlock()
	time.Sleep(300 * time.Millisecond) // let the REQs reach the daemon

	if code := d.stopGracefully(t); code != 0 {
		t.Fatalf("graceful shutdown exited %d", code)
	}
	stopC1()
	d2 := startNsqdOn(t, dir, flags...)
	restarted := time.Now()

	want := map[string]bool{}
	for _, b := range all {
		if !finned[b] {
			want[b] = true
		}
	}
	for _, b := range dpubs {
		want[b] = true
	}
	if len(want) != n-finnedCount+len(dpubs) {
		t.Fatalf("bookkeeping: %d expected", len(want))
	}
	got := newArrivals()
	cfg2 := nsq.NewConfig()
	cfg2.MaxInFlight = 1000
	newConsumer(t, d2.TCPAddr, "t", "c", cfg2, func(m *nsq.Message) error {
		got.add(string(m.Body))
		return nil
	})
	waitFor(t, 60*time.Second, fmt.Sprintf("all %d messages after the restart", len(want)),
		func() bool { return got.hasAll(want) })
	time.Sleep(time.Second) // give duplicates a chance to show up

	got.mu.Lock()
	defer got.mu.Unlock()
	for b, k := range got.count {
		switch {
		case !want[b]:
			t.Errorf("unexpected delivery of %q (FIN'd before the shutdown: %v)", b, finned[b])
		case k != 1:
			t.Errorf("%q delivered %d times", b, k)
		}
	}
	t.Logf("%d FIN'd before SIGTERM, %d in flight and %d deferred by REQ at shutdown, %d DPUBs",
		finnedCount, inFlight, len(requeued), len(dpubs))
	if isReference() {
		return // the reference delivers deferred messages at once after a restart
	}
	for _, b := range append(requeued, dpubs...) {
		due := sent[b].Add(delay)
		if !restarted.Before(due) {
			t.Fatalf("the restart took too long to check the remaining delay of %q", b)
		}
		if early := due.Sub(got.first[b]); early > 250*time.Millisecond {
			t.Errorf("%q delivered %v before its delay ran out", b, early)
		}
	}
}
