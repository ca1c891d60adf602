package nsqrstests

// go-nsq v1.1.0 Producer/Consumer scenarios against the daemon under test. Bounds are
// generous: these check behaviour, not speed.

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
)

// bodySet records how often each body was delivered.
type bodySet struct {
	mu       sync.Mutex
	counts   map[string]int
	attempts map[uint16]int
}

func newBodySet() *bodySet {
	return &bodySet{counts: map[string]int{}, attempts: map[uint16]int{}}
}

func (s *bodySet) add(m *nsq.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[string(m.Body)]++
	s.attempts[m.Attempts]++
}

func (s *bodySet) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

// check asserts exactly the expected bodies, each delivered once.
func (s *bodySet) check(t *testing.T, want []string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.counts) != len(want) {
		t.Fatalf("got %d distinct bodies, want %d", len(s.counts), len(want))
	}
	dups := 0
	for _, b := range want {
		c, ok := s.counts[b]
		if !ok {
			t.Fatalf("body %q never delivered", b)
		}
		if c != 1 {
			dups++
		}
	}
	if dups > 0 {
		t.Fatalf("%d bodies delivered more than once", dups)
	}
}

func bodies(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// publishAsync pipelines PUBs (go-nsq PublishAsync) and checks every response.
func publishAsync(t *testing.T, p *nsq.Producer, topic string, msgs []string) {
	t.Helper()
	done := make(chan *nsq.ProducerTransaction, len(msgs))
	for _, m := range msgs {
		if err := p.PublishAsync(topic, []byte(m), done); err != nil {
			t.Fatalf("PublishAsync: %v", err)
		}
	}
	timeout := time.After(60 * time.Second)
	for range msgs {
		select {
		case tr := <-done:
			if tr.Error != nil {
				t.Fatalf("publish failed: %v", tr.Error)
			}
		case <-timeout:
			t.Fatalf("timed out waiting for publish responses")
		}
	}
}

func TestPublishConsume10000(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	want := bodies("pub", 10000)
	publishAsync(t, newProducer(t, d.TCPAddr, nil), "t10k", want)

	got := newBodySet()
	cfg := nsq.NewConfig()
	cfg.MaxInFlight = 200
	newConsumer(t, d.TCPAddr, "t10k", "ch", cfg, func(m *nsq.Message) error {
		got.add(m)
		return nil
	})
	waitFor(t, 90*time.Second, "10,000 messages", func() bool { return got.distinct() == len(want) })
	time.Sleep(time.Second) // give duplicates a chance to show up
	got.check(t, want)
	if got.attempts[1] != len(want) {
		t.Fatalf("attempts histogram %v, want all 1", got.attempts)
	}
}

func TestMultiPublish10000(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	got := newBodySet()
	cfg := nsq.NewConfig()
	cfg.MaxInFlight = 100
	newConsumer(t, d.TCPAddr, "tmpub", "ch", cfg, func(m *nsq.Message) error {
		got.add(m)
		return nil
	})
	p := newProducer(t, d.TCPAddr, nil)
	want := bodies("mpub", 10000)
	for i := 0; i < len(want); i += 100 {
		if err := p.MultiPublish("tmpub", toBytes(want[i:i+100])); err != nil {
			t.Fatalf("MultiPublish: %v", err)
		}
	}
	waitFor(t, 90*time.Second, "10,000 messages", func() bool { return got.distinct() == len(want) })
	time.Sleep(time.Second)
	got.check(t, want)
}

func TestFanOutTwoChannels(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	sets := []*bodySet{newBodySet(), newBodySet()}
	for i, ch := range []string{"c1", "c2"} {
		s := sets[i]
		cfg := nsq.NewConfig()
		cfg.MaxInFlight = 50
		c := newConsumer(t, d.TCPAddr, "tfan", ch, cfg, func(m *nsq.Message) error {
			s.add(m)
			return nil
		})
		waitFor(t, 10*time.Second, "consumer connected", func() bool { return c.Stats().Connections == 1 })
	}
	time.Sleep(200 * time.Millisecond) // SUB has been answered
	want := bodies("fan", 1000)
	publishAsync(t, newProducer(t, d.TCPAddr, nil), "tfan", want)
	for _, s := range sets {
		waitFor(t, 60*time.Second, "fan-out", func() bool { return s.distinct() == len(want) })
	}
	time.Sleep(500 * time.Millisecond)
	for _, s := range sets {
		s.check(t, want)
	}
}

func TestConsumersShareChannel(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	all := newBodySet()
	var per [3]int64
	for i := 0; i < 3; i++ {
		i := i
		cfg := nsq.NewConfig()
		cfg.MaxInFlight = 5
		c := newConsumer(t, d.TCPAddr, "tshare", "shared", cfg, func(m *nsq.Message) error {
			atomic.AddInt64(&per[i], 1)
			all.add(m)
			return nil
		})
		waitFor(t, 10*time.Second, "consumer connected", func() bool { return c.Stats().Connections == 1 })
	}
	time.Sleep(200 * time.Millisecond)
	want := bodies("share", 3000)
	publishAsync(t, newProducer(t, d.TCPAddr, nil), "tshare", want)
	waitFor(t, 60*time.Second, "all messages", func() bool { return all.distinct() == len(want) })
	time.Sleep(500 * time.Millisecond)
	all.check(t, want)
	for i := range per {
		if atomic.LoadInt64(&per[i]) == 0 {
			t.Fatalf("consumer %d got nothing (distribution %v)", i, per)
		}
	}
}

type delivery struct {
	attempts uint16
	at       time.Time
}

type deliveryLog struct {
	mu sync.Mutex
	d  []delivery
}

func (l *deliveryLog) add(m *nsq.Message) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, delivery{m.Attempts, time.Now()})
	return len(l.d)
}

func (l *deliveryLog) snapshot() []delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]delivery(nil), l.d...)
}

func attemptsOf(ds []delivery) []uint16 {
	out := make([]uint16, len(ds))
	for i, d := range ds {
		out[i] = d.attempts
	}
	return out
}

func publishOne(t *testing.T, addr, topic, body string) {
	t.Helper()
	if err := newProducer(t, addr, nil).Publish(topic, []byte(body)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func TestRequeueWithoutBackoff(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	publishOne(t, d.TCPAddr, "treq", "again")
	var log deliveryLog
	newConsumer(t, d.TCPAddr, "treq", "ch", nil, func(m *nsq.Message) error {
		if log.add(m) == 1 {
			m.DisableAutoResponse()
			m.RequeueWithoutBackoff(0)
		}
		return nil
	})
	waitFor(t, 10*time.Second, "redelivery", func() bool { return len(log.snapshot()) >= 2 })
	time.Sleep(500 * time.Millisecond)
	ds := log.snapshot()
	if fmt.Sprint(attemptsOf(ds)) != "[1 2]" {
		t.Fatalf("attempts %v, want [1 2]", attemptsOf(ds))
	}
	if gap := ds[1].at.Sub(ds[0].at); gap > 5*time.Second {
		t.Fatalf("immediate requeue took %v", gap)
	}
}

func TestRequeueWithDelay(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	publishOne(t, d.TCPAddr, "treqd", "later")
	var log deliveryLog
	newConsumer(t, d.TCPAddr, "treqd", "ch", nil, func(m *nsq.Message) error {
		if log.add(m) == 1 {
			m.DisableAutoResponse()
			m.Requeue(2 * time.Second) // with backoff
		}
		return nil
	})
	waitFor(t, 20*time.Second, "delayed redelivery", func() bool { return len(log.snapshot()) >= 2 })
	ds := log.snapshot()
	if fmt.Sprint(attemptsOf(ds)) != "[1 2]" {
		t.Fatalf("attempts %v, want [1 2]", attemptsOf(ds))
	}
	if gap := ds[1].at.Sub(ds[0].at); gap < 1900*time.Millisecond {
		t.Fatalf("delayed requeue redelivered after only %v", gap)
	}
}

func TestInFlightTimeoutRedelivery(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	publishOne(t, d.TCPAddr, "tto", "slow")
	var log deliveryLog
	cfg := nsq.NewConfig()
	cfg.MsgTimeout = time.Second
	cfg.MaxInFlight = 2
	first := make(chan *nsq.Message, 1)
	newConsumer(t, d.TCPAddr, "tto", "ch", cfg, func(m *nsq.Message) error {
		if log.add(m) == 1 {
			m.DisableAutoResponse() // not answered: times out
			first <- m
		}
		return nil
	})
	waitFor(t, 20*time.Second, "redelivery after timeout", func() bool { return len(log.snapshot()) >= 2 })
	// Answer the timed-out delivery late (the server says E_FIN_FAILED, non-fatal) so that
	// go-nsq's own in-flight count drops to zero and the consumer can stop.
	(<-first).Finish()
	ds := log.snapshot()
	if ds[1].attempts != 2 {
		t.Fatalf("attempts %v, want [1 2]", attemptsOf(ds))
	}
	if gap := ds[1].at.Sub(ds[0].at); gap < 900*time.Millisecond {
		t.Fatalf("redelivered after only %v", gap)
	}
}

func TestTouchKeepsMessageAlive(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	publishOne(t, d.TCPAddr, "ttouch", "keep me")
	var log deliveryLog
	finished := make(chan struct{})
	cfg := nsq.NewConfig()
	cfg.MsgTimeout = time.Second
	newConsumer(t, d.TCPAddr, "ttouch", "ch", cfg, func(m *nsq.Message) error {
		if log.add(m) > 1 {
			return nil // redelivered: TOUCH did not keep it
		}
		m.DisableAutoResponse()
		go func() {
			// past the 1 s timeout and the reference's 5 s new-channel scan lag
			end := time.Now().Add(6500 * time.Millisecond)
			for time.Now().Before(end) {
				time.Sleep(300 * time.Millisecond)
				m.Touch()
			}
			m.Finish()
			close(finished)
		}()
		return nil
	})
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatalf("touch loop did not finish")
	}
	time.Sleep(2 * time.Second)
	if ds := log.snapshot(); len(ds) != 1 {
		t.Fatalf("message delivered %d times (attempts %v) despite TOUCH", len(ds), attemptsOf(ds))
	}
}

func TestDeferredPublish(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	type rec struct {
		body string
		at   time.Time
	}
	var mu sync.Mutex
	var got []rec
	c := newConsumer(t, d.TCPAddr, "tdefer", "ch", nil, func(m *nsq.Message) error {
		mu.Lock()
		got = append(got, rec{string(m.Body), time.Now()})
		mu.Unlock()
		return nil
	})
	waitFor(t, 10*time.Second, "consumer connected", func() bool { return c.Stats().Connections == 1 })
	time.Sleep(200 * time.Millisecond)
	p := newProducer(t, d.TCPAddr, nil)
	start := time.Now()
	if err := p.DeferredPublish("tdefer", 2*time.Second, []byte("deferred")); err != nil {
		t.Fatalf("DeferredPublish: %v", err)
	}
	if err := p.Publish("tdefer", []byte("immediate")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitFor(t, 20*time.Second, "both messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if got[0].body != "immediate" || got[1].body != "deferred" {
		t.Fatalf("order %v", got)
	}
	if gap := got[1].at.Sub(start); gap < 1900*time.Millisecond {
		t.Fatalf("deferred message delivered after only %v", gap)
	}
}

func TestOneMiBMessage(t *testing.T) {
	t.Parallel()
	d := startNsqd(t) // default --max-msg-size=1048576
	big := bytes.Repeat([]byte("0123456789abcdef"), 65536)
	if len(big) != 1048576 {
		t.Fatalf("bad test body size %d", len(big))
	}
	p := newProducer(t, d.TCPAddr, nil)
	if err := p.Publish("tbig", big); err != nil {
		t.Fatalf("Publish 1 MiB: %v", err)
	}
	gotc := make(chan []byte, 1)
	newConsumer(t, d.TCPAddr, "tbig", "ch", nil, func(m *nsq.Message) error {
		select {
		case gotc <- m.Body:
		default:
		}
		return nil
	})
	select {
	case b := <-gotc:
		if !bytes.Equal(b, big) {
			t.Fatalf("1 MiB body corrupted (len %d)", len(b))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("1 MiB message not delivered")
	}
	// One byte more is refused with a fatal error; go-nsq may see the connection close
	// before it parses the error frame, so the error text is checked only when present.
	err := newProducer(t, d.TCPAddr, nil).Publish("tbig", append(big, 'x'))
	if err == nil {
		t.Fatalf("publishing 1 MiB + 1 succeeded; want E_BAD_MESSAGE")
	}
	if strings.Contains(err.Error(), "E_BAD_MESSAGE") &&
		!strings.Contains(err.Error(), "E_BAD_MESSAGE PUB message too big 1048577 > 1048576") {
		t.Fatalf("publishing 1 MiB + 1: got %v", err)
	}
}

func TestMaxInFlightPromptDelivery(t *testing.T) {
	// the peer bug: with RDY 1 each message waited for the 250 ms flush timer (4 msg/s)
	for _, mif := range []int{1, 50} {
		mif := mif
		t.Run(fmt.Sprintf("max_in_flight=%d", mif), func(t *testing.T) {
			t.Parallel()
			d := startNsqd(t)
			want := bodies("prompt", 200)
			publishAsync(t, newProducer(t, d.TCPAddr, nil), "tprompt", want)
			got := newBodySet()
			cfg := nsq.NewConfig()
			cfg.MaxInFlight = mif
			start := time.Now()
			newConsumer(t, d.TCPAddr, "tprompt", "ch", cfg, func(m *nsq.Message) error {
				got.add(m)
				return nil
			})
			waitFor(t, 20*time.Second, "200 messages", func() bool { return got.distinct() == len(want) })
			t.Logf("200 messages with max_in_flight=%d in %v", mif, time.Since(start))
			got.check(t, want)
		})
	}
}

func TestConsumerStaysConnectedAcrossHeartbeats(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	cfg := nsq.NewConfig()
	cfg.HeartbeatInterval = time.Second
	beats := &countingLogger{needle: "heartbeat received"}
	c, err := nsq.NewConsumer("thb", "ch", cfg)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	c.SetLogger(beats, nsq.LogLevelDebug)
	gotc := make(chan string, 1)
	c.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		gotc <- string(m.Body)
		return nil
	}))
	if err := c.ConnectToNSQD(d.TCPAddr); err != nil {
		t.Fatalf("ConnectToNSQD: %v", err)
	}
	t.Cleanup(func() {
		c.Stop()
		select {
		case <-c.StopChan:
		case <-time.After(10 * time.Second):
		}
	})
	for i := 0; i < 9; i++ { // ~4.5 s: several 1 s heartbeats, answered by go-nsq with NOP
		time.Sleep(500 * time.Millisecond)
		if n := c.Stats().Connections; n != 1 {
			t.Fatalf("connection dropped after %d ms (connections=%d)", (i+1)*500, n)
		}
	}
	if n := beats.count(); n < 3 {
		t.Fatalf("saw %d heartbeats in 4.5 s with a 1 s interval", n)
	}
	publishOne(t, d.TCPAddr, "thb", "still here")
	select {
	case b := <-gotc:
		if b != "still here" {
			t.Fatalf("got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("message not delivered after heartbeats")
	}
}

func TestProducerWithHeartbeatsDisabled(t *testing.T) {
	t.Parallel()
	d := startNsqd(t)
	cfg := nsq.NewConfig()
	cfg.HeartbeatInterval = -1 // go-nsq sends heartbeat_interval -1: disabled
	p := newProducer(t, d.TCPAddr, cfg)
	if err := p.Publish("tnohb", []byte("a")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	time.Sleep(3 * time.Second)
	if err := p.Publish("tnohb", []byte("b")); err != nil {
		t.Fatalf("Publish after idling: %v", err)
	}
}
