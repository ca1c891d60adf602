package nsqrstests

// go-nsq v1.1.0 with every IDENTIFY upgrade it negotiates (TLS, snappy, deflate, TLS+snappy,
// TLS+deflate, client certificates) and with an auth server: producers and consumers must
// work exactly as against the reference nsqd. Certificates come from tests/certs/gen.sh.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

// testPKI generates the throw-away PKI of tests/certs/gen.sh into a temporary directory.
func testPKI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(repoRoot(), "tests", "certs", "gen.sh"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, out)
	}
	return dir
}

func tlsFlags(t *testing.T, pki string, extra ...string) []string {
	return append([]string{
		"--tls-cert=" + filepath.Join(pki, "server.pem"),
		"--tls-key=" + filepath.Join(pki, "server.key"),
		fmt.Sprintf("--https-address=127.0.0.1:%d", freePort(t)),
	}, extra...)
}

// clientTLS trusts the test CA and, if cert is non-empty ("client", "rogue"), presents it.
func clientTLS(t *testing.T, pki, cert string) *tls.Config {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(pki, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("bad CA PEM")
	}
	conf := &tls.Config{RootCAs: pool}
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(filepath.Join(pki, cert+".pem"), filepath.Join(pki, cert+".key"))
		if err != nil {
			t.Fatal(err)
		}
		conf.Certificates = []tls.Certificate{kp}
	}
	return conf
}

// upgradeLogger counts go-nsq's "upgrading to ..." lines.
type upgradeLogger struct {
	mu    sync.Mutex
	lines map[string]int
}

func (l *upgradeLogger) Output(_ int, s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, what := range []string{"TLS", "Deflate", "Snappy"} {
		if strings.Contains(s, "upgrading to "+what) {
			l.lines[what]++
		}
	}
	return nil
}

func (l *upgradeLogger) count(what string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines[what]
}

// roundTrip publishes with PUB, MPUB and DPUB through a producer and consumes everything
// with a consumer, both built from cfg; it returns the upgrades the two logged.
func roundTrip(t *testing.T, addr string, cfg func() *nsq.Config, topic string) *upgradeLogger {
	t.Helper()
	logs := &upgradeLogger{lines: map[string]int{}}
	pcfg := cfg()
	p, err := nsq.NewProducer(addr, pcfg)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	p.SetLogger(logs, nsq.LogLevelInfo)
	t.Cleanup(p.Stop)

	want := bodies(topic, 200)
	big := strings.Repeat("0123456789abcdef", 64*1024) // 1 MiB, many compression chunks
	for _, b := range want[:100] {
		if err := p.Publish(topic, []byte(b)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := p.MultiPublish(topic, toBytes(want[100:199])); err != nil {
		t.Fatalf("MultiPublish: %v", err)
	}
	if err := p.DeferredPublish(topic, 10*time.Millisecond, []byte(want[199])); err != nil {
		t.Fatalf("DeferredPublish: %v", err)
	}
	if err := p.Publish(topic, []byte(big)); err != nil {
		t.Fatalf("Publish big: %v", err)
	}
	want = append(want, big)

	got := newBodySet()
	c, err := nsq.NewConsumer(topic, "ch", cfg())
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	c.SetLogger(logs, nsq.LogLevelInfo)
	c.ChangeMaxInFlight(50)
	c.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		got.add(m)
		return nil
	}))
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
	waitFor(t, 30*time.Second, "all messages", func() bool { return got.distinct() >= len(want) })
	got.check(t, want)
	return logs
}

func TestUpgradesGoNsq(t *testing.T) {
	pki := testPKI(t)
	cases := []struct {
		name   string
		flags  []string
		config func(*nsq.Config)
		want   []string
	}{
		{"tls", nil, func(c *nsq.Config) {
			c.TlsV1 = true
			c.TlsConfig = clientTLS(t, pki, "")
		}, []string{"TLS"}},
		{"snappy", nil, func(c *nsq.Config) { c.Snappy = true }, []string{"Snappy"}},
		{"deflate", nil, func(c *nsq.Config) {
			c.Deflate = true
			c.DeflateLevel = 5
		}, []string{"Deflate"}},
		{"tls+snappy", nil, func(c *nsq.Config) {
			c.TlsV1 = true
			c.TlsConfig = clientTLS(t, pki, "")
			c.Snappy = true
		}, []string{"TLS", "Snappy"}},
		{"tls+deflate", nil, func(c *nsq.Config) {
			c.TlsV1 = true
			c.TlsConfig = clientTLS(t, pki, "")
			c.Deflate = true
			c.DeflateLevel = 9 // above --max-deflate-level: the server answers 6
		}, []string{"TLS", "Deflate"}},
		{"require-verify+deflate", []string{
			"--tls-client-auth-policy=require-verify",
			"--tls-root-ca-file=" + filepath.Join(pki, "ca.pem"),
		}, func(c *nsq.Config) {
			c.TlsV1 = true
			c.TlsConfig = clientTLS(t, pki, "client")
			c.Deflate = true
		}, []string{"TLS", "Deflate"}},
	}
	for _, tc := range cases {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			d := startNsqd(t, tlsFlags(t, pki, tc.flags...)...)
			cfg := func() *nsq.Config {
				c := nsq.NewConfig()
				tc.config(c)
				return c
			}
			logs := roundTrip(t, d.TCPAddr, cfg, "up_"+strings.NewReplacer("+", "_", "-", "_").Replace(tc.name))
			for _, what := range tc.want {
				if n := logs.count(what); n < 2 {
					t.Errorf("%s upgrade logged %d times, want producer and consumer", what, n)
				}
			}
		})
	}
}

func TestRequireVerifyRefusesUnsignedGoNsq(t *testing.T) {
	pki := testPKI(t)
	d := startNsqd(t, tlsFlags(t, pki, "--tls-client-auth-policy=require-verify",
		"--tls-root-ca-file="+filepath.Join(pki, "ca.pem"))...)
	for _, cert := range []string{"", "rogue"} {
		cfg := nsq.NewConfig()
		cfg.TlsV1 = true
		cfg.TlsConfig = clientTLS(t, pki, cert)
		p := newProducer(t, d.TCPAddr, cfg)
		if err := p.Publish("t", []byte("x")); err == nil {
			t.Errorf("publish with client cert %q succeeded; want the handshake refused", cert)
		}
	}
	// and plaintext is refused by the implied --tls-required
	p := newProducer(t, d.TCPAddr, nil)
	if err := p.Publish("t", []byte("x")); err == nil {
		t.Errorf("plaintext publish succeeded under require-verify")
	}
}

// authServer grants publish+subscribe on topic "granted" to secret "s3cret".
func authServer(t *testing.T) (string, *sync.Map) {
	t.Helper()
	seen := &sync.Map{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		seen.Store(q.Get("secret"), q.Get("tls")+"/"+q.Get("common_name"))
		resp := map[string]interface{}{"ttl": 3600, "identity": "gopher", "authorizations": []interface{}{}}
		if q.Get("secret") == "s3cret" {
			resp["authorizations"] = []interface{}{map[string]interface{}{
				"topic": "^granted$", "channels": []string{".*"},
				"permissions": []string{"subscribe", "publish"}}}
		}
		_ = json.NewEncoder(w).Encode(resp)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), seen
}

func TestAuthSecretGoNsq(t *testing.T) {
	pki := testPKI(t)
	addr, seen := authServer(t)
	d := startNsqd(t, tlsFlags(t, pki, "--auth-http-address="+addr,
		"--tls-client-auth-policy=require")...)
	cfg := func() *nsq.Config {
		c := nsq.NewConfig()
		c.TlsV1 = true
		c.TlsConfig = clientTLS(t, pki, "client")
		c.Snappy = true
		c.AuthSecret = "s3cret"
		return c
	}
	roundTrip(t, d.TCPAddr, cfg, "granted")
	if v, _ := seen.Load("s3cret"); v != "true/test.local" {
		t.Errorf("auth server saw tls/common_name %v, want true/test.local", v)
	}

	// publishing elsewhere is refused with the reference's error
	p := newProducer(t, d.TCPAddr, cfg())
	err := p.Publish("other", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), `E_UNAUTHORIZED AUTH failed for PUB on "other" ""`) {
		t.Errorf("publish to an ungranted topic: %v", err)
	}

	// a wrong secret gets no authorizations
	bad := cfg()
	bad.AuthSecret = "wrong"
	p2 := newProducer(t, d.TCPAddr, bad)
	if err := p2.Publish("granted", []byte("x")); err == nil {
		t.Errorf("publish with a wrong secret succeeded")
	}
}
