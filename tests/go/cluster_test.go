package nsqrstests

// Discovery with go-nsq: consumers that know only nsqlookupd HTTP addresses
// (ConnectToNSQLookupds) receive every message published to every nsqd, including an nsqd
// started after the consumer; and in a mixed cluster (reference nsqd + nsqlookupd from
// bench/.build/bin next to ours) consumers find nsqds of both kinds through lookupds of
// both kinds. Every daemon runs on free 127.0.0.1 ports and is stopped by PID.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

// clusterProc is one nsqd or nsqlookupd started by a cluster test.
type clusterProc struct {
	TCPAddr  string
	HTTPAddr string
	cmd      *exec.Cmd
	out      *lockedBuffer
	done     chan struct{}
}

func lookupdBin() string {
	v := os.Getenv("NSQLOOKUPD_BIN")
	if v == "" {
		return filepath.Join(repoRoot(), "target", "debug", "nsqlookupd")
	}
	if filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(repoRoot(), v)
}

func referenceBin(name string) string {
	return filepath.Join(repoRoot(), "bench", ".build", "bin", name)
}

func requireBinary(t *testing.T, bin string) {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not available: %v", bin, err)
	}
}

// startDaemon runs bin with --tcp-address/--http-address on free ports plus args, waits
// until its TCP port accepts (and, with needHTTP, its HTTP /ping answers), and stops it
// (SIGTERM, then SIGKILL) at cleanup.
func startDaemon(t *testing.T, bin string, needHTTP bool, args ...string) *clusterProc {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p := &clusterProc{
			TCPAddr:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			out:      &lockedBuffer{},
			done:     make(chan struct{}),
		}
		if p.TCPAddr == p.HTTPAddr {
			continue
		}
		full := append([]string{"--tcp-address=" + p.TCPAddr, "--http-address=" + p.HTTPAddr},
			args...)
		p.cmd = exec.Command(bin, full...)
		p.cmd.Stdout = p.out
		p.cmd.Stderr = p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		go func() { _ = p.cmd.Wait(); close(p.done) }()
		if err := p.waitReady(15*time.Second, needHTTP); err != nil {
			lastErr = err
			p.stop()
			continue
		}
		t.Cleanup(func() {
			p.stop()
			if t.Failed() {
				t.Logf("--- %s output ---\n%s", filepath.Base(bin), tail(p.out.String(), 40))
			}
		})
		return p
	}
	t.Fatalf("%s did not start: %v", bin, lastErr)
	return nil
}

// waitReady waits for the TCP port and, with needHTTP, for /ping.
func (p *clusterProc) waitReady(timeout time.Duration, needHTTP bool) error {
	deadline := time.Now().Add(timeout)
	cl := http.Client{Timeout: 500 * time.Millisecond}
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited early:\n%s", tail(p.out.String(), 30))
		default:
		}
		if c, err := net.DialTimeout("tcp", p.TCPAddr, 500*time.Millisecond); err == nil {
			c.Close()
			// a concurrently running test session may own the probed port
			port := c.RemoteAddr().(*net.TCPAddr).Port
			if listenerOwnedByOther(port, p.cmd.Process.Pid) {
				return fmt.Errorf("port %d is served by another process", port)
			}
			if !needHTTP {
				return nil
			}
			if resp, err := cl.Get("http://" + p.HTTPAddr + "/ping"); err == nil {
				resp.Body.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v", p.TCPAddr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *clusterProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func startLookupd(t *testing.T, bin string) *clusterProc {
	t.Helper()
	return startDaemon(t, bin, true, "--broadcast-address=127.0.0.1")
}

func startClusterNsqd(t *testing.T, bin string, lookupds ...*clusterProc) *clusterProc {
	t.Helper()
	args := []string{"--broadcast-address=127.0.0.1", "--data-path=" + t.TempDir()}
	for _, l := range lookupds {
		args = append(args, "--lookupd-tcp-address="+l.TCPAddr)
	}
	return startDaemon(t, bin, false, args...)
}

// lookupPorts is the set of producer TCP ports lookupd returns for a topic.
func lookupPorts(l *clusterProc, topic string) map[string]bool {
	cl := http.Client{Timeout: 2 * time.Second}
	out := map[string]bool{}
	resp, err := cl.Get("http://" + l.HTTPAddr + "/lookup?topic=" + topic)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	var body struct {
		Producers []struct {
			TCPPort int `json:"tcp_port"`
		} `json:"producers"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return out
	}
	for _, p := range body.Producers {
		out[fmt.Sprintf("127.0.0.1:%d", p.TCPPort)] = true
	}
	return out
}

func waitRegistered(t *testing.T, topic string, lookupds []*clusterProc, nsqds []*clusterProc) {
	t.Helper()
	for _, l := range lookupds {
		waitFor(t, 15*time.Second, "registration of "+topic+" at "+l.HTTPAddr, func() bool {
			got := lookupPorts(l, topic)
			if len(got) != len(nsqds) {
				return false
			}
			for _, n := range nsqds {
				if !got[n.TCPAddr] {
					return false
				}
			}
			return true
		})
	}
}

func publishAll(t *testing.T, n *clusterProc, topic string, msgs []string) {
	t.Helper()
	p := newProducer(t, n.TCPAddr, nil)
	if err := p.MultiPublish(topic, toBytes(msgs)); err != nil {
		t.Fatalf("MPUB to %s: %v", n.TCPAddr, err)
	}
}

// lookupdConsumer is a go-nsq consumer that only knows lookupd HTTP addresses.
type lookupdConsumer struct {
	mu   sync.Mutex
	seen map[string]int
}

func newLookupdConsumer(t *testing.T, topic, channel string, lookupds []*clusterProc) *lookupdConsumer {
	t.Helper()
	cfg := nsq.NewConfig()
	cfg.LookupdPollInterval = 500 * time.Millisecond
	cfg.LookupdPollJitter = 0
	cfg.MaxInFlight = 50
	c, err := nsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	c.SetLogger(quietLogger, nsq.LogLevelError)
	lc := &lookupdConsumer{seen: map[string]int{}}
	c.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		lc.mu.Lock()
		lc.seen[string(m.Body)]++
		lc.mu.Unlock()
		return nil
	}))
	addrs := make([]string, len(lookupds))
	for i, l := range lookupds {
		addrs[i] = l.HTTPAddr
	}
	if err := c.ConnectToNSQLookupds(addrs); err != nil {
		t.Fatalf("ConnectToNSQLookupds: %v", err)
	}
	t.Cleanup(func() {
		c.Stop()
		select {
		case <-c.StopChan:
		case <-time.After(10 * time.Second):
			t.Errorf("consumer did not stop within 10s")
		}
	})
	return lc
}

func (lc *lookupdConsumer) has(want []string) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for _, b := range want {
		if lc.seen[b] == 0 {
			return false
		}
	}
	return true
}

func TestClusterConsumerFindsEveryNsqdThroughLookupds(t *testing.T) {
	requireBinary(t, lookupdBin())
	l1, l2 := startLookupd(t, lookupdBin()), startLookupd(t, lookupdBin())
	lookupds := []*clusterProc{l1, l2}
	var nsqds []*clusterProc
	var want []string
	for i := 0; i < 3; i++ {
		n := startClusterNsqd(t, nsqdBin(), l1, l2)
		nsqds = append(nsqds, n)
		msgs := bodies(fmt.Sprintf("go-n%d", i), 30)
		publishAll(t, n, "gocluster", msgs)
		want = append(want, msgs...)
	}
	waitRegistered(t, "gocluster", lookupds, nsqds)

	c := newLookupdConsumer(t, "gocluster", "ch", lookupds)
	waitFor(t, 30*time.Second, "every message from three nsqds", func() bool { return c.has(want) })

	// An nsqd started after the consumer is discovered on the next lookupd poll.
	n4 := startClusterNsqd(t, nsqdBin(), l1, l2)
	late := bodies("go-late", 10)
	publishAll(t, n4, "gocluster", late)
	waitFor(t, 30*time.Second, "messages from the late nsqd", func() bool { return c.has(late) })
}

func TestClusterMixedWithReference(t *testing.T) {
	refNsqd, refLookupd := referenceBin("nsqd"), referenceBin("nsqlookupd")
	requireBinary(t, refNsqd)
	requireBinary(t, refLookupd)
	requireBinary(t, lookupdBin())
	ours := startLookupd(t, lookupdBin())
	ref := startLookupd(t, refLookupd)
	lookupds := []*clusterProc{ours, ref}
	ourNsqd := startClusterNsqd(t, nsqdBin(), ours, ref)
	refN := startClusterNsqd(t, refNsqd, ours, ref)
	nsqds := []*clusterProc{ourNsqd, refN}

	// One channel per consumer exists on both nsqds before publishing, so each consumer
	// gets every message.
	for _, n := range nsqds {
		for _, ch := range []string{"via-ours", "via-ref"} {
			c := newConsumerNoCleanupCheck(t, n.TCPAddr, "gomixed", ch)
			c.Stop()
			<-c.StopChan
		}
	}
	want := append(bodies("go-ours", 20), bodies("go-ref", 20)...)
	publishAll(t, ourNsqd, "gomixed", want[:20])
	publishAll(t, refN, "gomixed", want[20:])
	waitRegistered(t, "gomixed", lookupds, nsqds)

	viaOurs := newLookupdConsumer(t, "gomixed", "via-ours", []*clusterProc{ours})
	viaRef := newLookupdConsumer(t, "gomixed", "via-ref", []*clusterProc{ref})
	waitFor(t, 30*time.Second, "every message via our lookupd", func() bool { return viaOurs.has(want) })
	waitFor(t, 30*time.Second, "every message via the reference lookupd", func() bool { return viaRef.has(want) })
}

// newConsumerNoCleanupCheck subscribes once (creating the channel) and is stopped by the
// caller.
func newConsumerNoCleanupCheck(t *testing.T, addr, topic, channel string) *nsq.Consumer {
	t.Helper()
	c, err := nsq.NewConsumer(topic, channel, nsq.NewConfig())
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	c.SetLogger(quietLogger, nsq.LogLevelError)
	c.AddHandler(nsq.HandlerFunc(func(*nsq.Message) error { return nil }))
	if err := c.ConnectToNSQD(addr); err != nil {
		t.Fatalf("ConnectToNSQD %s: %v", addr, err)
	}
	return c
}
