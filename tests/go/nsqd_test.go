package nsqrstests

// Process management for the daemon under test: every test starts its own nsqd from
// $NSQD_BIN on free 127.0.0.1 ports with a fresh --data-path, and stops it by PID (SIGTERM,
// then SIGKILL) in t.Cleanup.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

// repoRoot is two levels above this package (tests/go).
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// nsqdBin resolves $NSQD_BIN (absolute, relative to the current directory, or relative to
// the repository root), defaulting to <repo>/target/debug/nsqd.
func nsqdBin() string {
	v := os.Getenv("NSQD_BIN")
	if v == "" {
		return filepath.Join(repoRoot(), "target", "debug", "nsqd")
	}
	if filepath.IsAbs(v) {
		return v
	}
	if abs, err := filepath.Abs(v); err == nil {
		if _, err := os.Stat(abs); err == nil {
			return abs
		}
	}
	return filepath.Join(repoRoot(), v)
}

func isReference() bool { return os.Getenv("NSQD_IS_REFERENCE") == "1" }

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a port that was free a moment ago and that no other test in this
// process has been given (parallel tests must not race for the same port).
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("probing a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsUsed[port] {
			portsUsed[port] = true
			return port
		}
	}
	t.Fatalf("no unused free port found")
	return 0
}

// listenerOwnedByOther reports whether the listener on 127.0.0.1:port (or 0.0.0.0:port)
// demonstrably belongs to a process other than pid (Linux /proc). It returns false when the
// listener is ours or ownership cannot be determined.
func listenerOwnedByOther(port, pid int) bool {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := map[string]bool{
		fmt.Sprintf("0100007F:%04X", port): true,
		fmt.Sprintf("00000000:%04X", port): true,
	}
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && want[f[1]] && f[3] == "0A" {
			inodes[f[9]] = true
		}
	}
	if len(inodes) == 0 {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		if strings.HasPrefix(link, "socket:[") && inodes[strings.TrimSuffix(link[8:], "]")] {
			return false
		}
	}
	return true
}

// lockedBuffer collects the daemon's output for failure reports.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type nsqdProc struct {
	TCPAddr  string
	HTTPAddr string
	cmd      *exec.Cmd
	out      *lockedBuffer
	done     chan struct{}
}

// startNsqd starts a daemon with extra flags and registers its shutdown.
func startNsqd(t *testing.T, args ...string) *nsqdProc {
	t.Helper()
	bin := nsqdBin()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("nsqd binary %s: %v (build it or set NSQD_BIN)", bin, err)
	}
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
			"--data-path=" + t.TempDir(),
		}, args...)
		p.cmd = exec.Command(bin, full...)
		p.cmd.Stdout = p.out
		p.cmd.Stderr = p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
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
				t.Logf("--- nsqd output ---\n%s", tail(p.out.String(), 60))
			}
		})
		return p
	}
	t.Fatalf("nsqd did not start: %v", lastErr)
	return nil
}

func (p *nsqdProc) waitTCP(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("nsqd exited early:\n%s", tail(p.out.String(), 30))
		default:
		}
		c, err := net.DialTimeout("tcp", p.TCPAddr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			// a concurrently running test session may own the probed port
			port := c.RemoteAddr().(*net.TCPAddr).Port
			if listenerOwnedByOther(port, p.cmd.Process.Pid) {
				return fmt.Errorf("port %d is served by another process", port)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting after %v", p.TCPAddr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *nsqdProc) stop() {
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

// stats fetches /stats?format=json (only used where a test needs server-side counters).
func (p *nsqdProc) stats(t *testing.T) map[string]interface{} {
	t.Helper()
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + p.HTTPAddr + "/stats?format=json")
	if err != nil {
		t.Fatalf("GET /stats: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]interface{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding /stats: %v", err)
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// quietLogger drops go-nsq's log output unless it is an error.
var quietLogger = log.New(io.Discard, "", 0)

// countingLogger counts log lines containing a substring (e.g. heartbeats at debug level).
type countingLogger struct {
	mu     sync.Mutex
	needle string
	n      int
}

func (l *countingLogger) Output(_ int, s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(s, l.needle) {
		l.n++
	}
	return nil
}

func (l *countingLogger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func newProducer(t *testing.T, addr string, cfg *nsq.Config) *nsq.Producer {
	t.Helper()
	if cfg == nil {
		cfg = nsq.NewConfig()
	}
	p, err := nsq.NewProducer(addr, cfg)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	p.SetLogger(quietLogger, nsq.LogLevelError)
	t.Cleanup(p.Stop)
	return p
}

// newConsumer connects a consumer with the handler and stops it at cleanup (bounded).
func newConsumer(t *testing.T, addr, topic, channel string, cfg *nsq.Config,
	h nsq.HandlerFunc) *nsq.Consumer {
	t.Helper()
	if cfg == nil {
		cfg = nsq.NewConfig()
	}
	c, err := nsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	c.SetLogger(quietLogger, nsq.LogLevelError)
	c.AddHandler(h)
	if err := c.ConnectToNSQD(addr); err != nil {
		t.Fatalf("ConnectToNSQD: %v", err)
	}
	t.Cleanup(func() {
		c.Stop()
		select {
		case <-c.StopChan:
		case <-time.After(10 * time.Second):
			t.Errorf("consumer did not stop within 10s")
		}
	})
	return c
}

// waitFor polls cond until it holds or the timeout expires.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
