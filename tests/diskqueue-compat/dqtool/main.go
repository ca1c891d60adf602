// Command dqtool drives the reference go-diskqueue (v1.1.0, pinned in ../go.mod)
// so that the Rust crate nsq-diskqueue can be checked against it byte for byte.
//
// Usage:
//
//	dqtool gen <n>                     print the n deterministic payloads, one hex line each
//	dqtool write <dir> <name> <n>      put the n deterministic payloads, then Close
//	dqtool crash-write <dir> <name> <n>
//	                                   put them, then exit without Close (metadata as last
//	                                   synced, as after a crash of nsqd)
//	dqtool read <dir> <name> [max]     take exactly max records (default: until the depth is
//	                                   0), print them as hex lines, then Close; the last line
//	                                   is "depth <d>"
//
// The queue parameters are fixed (see the constants below) and are mirrored by
// crates/nsq-diskqueue/tests/go_compat.rs; change both together.
package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	diskqueue "github.com/nsqio/go-diskqueue"
)

const (
	maxBytesPerFile = 1024
	minMsgSize      = 8
	maxMsgSize      = 4096
	syncEvery       = 7
	syncTimeout     = 50 * time.Millisecond
	readTimeout     = 5 * time.Second
)

// payload returns record i of the deterministic test stream. It alternates stretches of
// varied sizes with stretches of 124-byte payloads (128-byte records, which fill a
// 1024-byte file exactly), and mixes in payloads of exactly the minimum and maximum size
// and payloads larger than a whole file.
func payload(i int) []byte {
	var size int
	switch {
	case i%23 == 22:
		size = maxMsgSize
	case i%17 == 16:
		size = maxBytesPerFile + 300
	case i%29 == 28:
		size = minMsgSize
	case (i/40)%2 == 1:
		size = 124
	default:
		size = minMsgSize + (i*37)%200
	}
	out := make([]byte, size)
	state := uint32(i)*2654435761 + 12345
	for j := range out {
		state = state*1103515245 + 12345
		out[j] = byte(state >> 16)
	}
	return out
}

func logf(lvl diskqueue.LogLevel, f string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", lvl, fmt.Sprintf(f, args...))
}

func open(dir, name string) diskqueue.Interface {
	return diskqueue.New(name, dir, maxBytesPerFile, minMsgSize, maxMsgSize, syncEvery, syncTimeout, logf)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "dqtool: "+format+"\n", args...)
	os.Exit(2)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		fail("bad count %q", s)
	}
	return n
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		fail("usage: dqtool gen|write|read ...")
	}
	switch {
	case args[0] == "gen" && len(args) == 2:
		n := atoi(args[1])
		for i := 0; i < n; i++ {
			fmt.Println(hex.EncodeToString(payload(i)))
		}
	case (args[0] == "write" || args[0] == "crash-write") && len(args) == 4:
		q := open(args[1], args[2])
		n := atoi(args[3])
		for i := 0; i < n; i++ {
			if err := q.Put(payload(i)); err != nil {
				fail("put %d: %s", i, err)
			}
		}
		if args[0] == "crash-write" {
			os.Exit(0)
		}
		if err := q.Close(); err != nil {
			fail("close: %s", err)
		}
	case args[0] == "read" && (len(args) == 3 || len(args) == 4):
		max := -1
		if len(args) == 4 {
			max = atoi(args[3])
		}
		q := open(args[1], args[2])
		taken := 0
		// With max, take exactly max records: the depth may be understated after a
		// crash. Without, take records while the depth says there are any.
		for (max >= 0 && taken < max) || (max < 0 && q.Depth() > 0) {
			select {
			case b := <-q.ReadChan():
				fmt.Println(hex.EncodeToString(b))
				taken++
			case <-time.After(readTimeout):
				fail("timed out waiting for a record with depth %d", q.Depth())
			}
		}
		fmt.Printf("depth %d\n", q.Depth())
		if err := q.Close(); err != nil {
			fail("close: %s", err)
		}
	default:
		fail("usage: dqtool gen|write|read ...")
	}
}
