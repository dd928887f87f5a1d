package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// --- a minimal BSON/OP_MSG builder -------------------------------------------

type elem struct {
	name  string
	value any // string, int32, float64, []elem (document)
}

func bsonDoc(elems ...elem) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0})
	for _, e := range elems {
		switch v := e.value.(type) {
		case string:
			b.WriteByte(0x02)
			b.WriteString(e.name)
			b.WriteByte(0)
			_ = binary.Write(&b, binary.LittleEndian, int32(len(v)+1))
			b.WriteString(v)
			b.WriteByte(0)
		case int32:
			b.WriteByte(0x10)
			b.WriteString(e.name)
			b.WriteByte(0)
			_ = binary.Write(&b, binary.LittleEndian, v)
		case float64:
			b.WriteByte(0x01)
			b.WriteString(e.name)
			b.WriteByte(0)
			_ = binary.Write(&b, binary.LittleEndian, v)
		case []elem:
			b.WriteByte(0x03)
			b.WriteString(e.name)
			b.WriteByte(0)
			b.Write(bsonDoc(v...))
		default:
			panic("unsupported value")
		}
	}
	b.WriteByte(0)
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	return out
}

func header(b []byte, id, to, op int32) []byte {
	binary.LittleEndian.PutUint32(b[0:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[4:], uint32(id))
	binary.LittleEndian.PutUint32(b[8:], uint32(to))
	binary.LittleEndian.PutUint32(b[12:], uint32(op))
	return b
}

// buildMsg builds an OP_MSG with a kind 0 body and, when seq is not nil, a kind 1
// section "documents" before it (sections may come in any order).
func buildMsg(id int32, flags uint32, body []byte, seq [][]byte) []byte {
	b := make([]byte, headerLen+4)
	binary.LittleEndian.PutUint32(b[headerLen:], flags)
	if seq != nil {
		var s bytes.Buffer
		s.WriteString("documents")
		s.WriteByte(0)
		for _, d := range seq {
			s.Write(d)
		}
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint32(b, uint32(4+s.Len()))
		b = append(b, s.Bytes()...)
	}
	b = append(b, 0)
	b = append(b, body...)
	if flags&flagChecksumPresent != 0 {
		b = append(b, 0, 0, 0, 0)
	}
	return header(b, id, 0, opMsg)
}

func command(id int32, name string, value any, db string, rest ...elem) []byte {
	elems := append([]elem{{name, value}}, rest...)
	elems = append(elems, elem{"$db", db})
	return buildMsg(id, 0, bsonDoc(elems...), nil)
}

// --- classification -------------------------------------------------------------

func TestClassify(t *testing.T) {
	filter := []elem{{"q", []elem{{"_id", "k"}}}}
	cases := []struct {
		name string
		msg  []byte
		kind lockKind
		ns   string
		more bool
	}{
		{"find", command(1, "find", "users", "app", elem{"filter", filter}), lockNone, "", false},
		{"aggregate", command(1, "aggregate", "users", "app"), lockNone, "", false},
		{"getMore", command(1, "getMore", int32(7), "app", elem{"collection", "users"}), lockNone, "", false},
		{"hello", command(1, "hello", int32(1), "admin"), lockNone, "", false},
		{"update", command(1, "update", "quotas", "app", elem{"ordered", int32(1)}), lockNamespace, "app.quotas", false},
		{"findAndModify", command(1, "findAndModify", "totp", "gh"), lockNamespace, "gh.totp", false},
		{"delete", command(1, "delete", "sessions", "gh"), lockNamespace, "gh.sessions", false},
		{"createIndexes", command(1, "createIndexes", "users", "gh"), lockNamespace, "gh.users", false},
		{"dropDatabase", command(1, "dropDatabase", int32(1), "gh"), lockGlobal, "", false},
		{"renameCollection", command(1, "renameCollection", "gh.a", "admin", elem{"to", "gh.b"}), lockGlobal, "", false},
		{"unknown command", command(1, "frobnicate", "users", "gh"), lockGlobal, "", false},
		{"update without $db", buildMsg(1, 0, bsonDoc(elem{"update", "users"}), nil), lockGlobal, "", false},
		{"update on a number", command(1, "update", int32(3), "gh"), lockGlobal, "", false},
		{
			"insert with a document sequence first",
			buildMsg(1, 0, bsonDoc(elem{"insert", "users"}, elem{"$db", "gh"}), [][]byte{bsonDoc(elem{"_id", "a"}), bsonDoc(elem{"_id", "b"})}),
			lockNamespace, "gh.users", false,
		},
		{"moreToCome", buildMsg(1, flagMoreToCome, bsonDoc(elem{"update", "c"}, elem{"$db", "d"}), nil), lockNamespace, "d.c", true},
		{"checksum", buildMsg(1, flagChecksumPresent, bsonDoc(elem{"delete", "c"}, elem{"$db", "d"}), nil), lockNamespace, "d.c", false},
		{"OP_QUERY", header(make([]byte, 40), 1, 0, opQuery), lockNone, "", false},
		{"OP_COMPRESSED", header(make([]byte, 40), 1, 0, opCompressed), lockGlobal, "", false},
		{"truncated OP_MSG", header(make([]byte, 18), 1, 0, opMsg), lockGlobal, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := classify(tc.msg)
			ns := ""
			if req.kind == lockNamespace {
				ns = string(req.db) + "." + string(req.coll)
			}
			if req.kind != tc.kind || ns != tc.ns || req.moreToCome != tc.more {
				t.Fatalf("got %s %q moreToCome=%v, want %s %q moreToCome=%v", req.kind, ns, req.moreToCome, tc.kind, tc.ns, tc.more)
			}
		})
	}
}

// Every truncation and every corrupted byte of a message must classify without
// panicking, and never as a read unless the command is one.
func TestClassifyCorrupt(t *testing.T) {
	msg := command(1, "update", "quotas", "app", elem{"updates", []elem{{"0", []elem{{"q", []elem{}}}}}})
	for n := headerLen; n < len(msg); n++ {
		m := append([]byte(nil), msg[:n]...)
		binary.LittleEndian.PutUint32(m, uint32(n))
		if req := classify(m); req.kind == lockNone {
			t.Fatalf("truncated to %d bytes: classified as a read", n)
		}
	}
	for i := headerLen; i < len(msg); i++ {
		for _, v := range []byte{0, 1, 0x7f, 0xff} {
			m := append([]byte(nil), msg...)
			m[i] = v
			_ = classify(m)
		}
	}
}

func TestReadMessage(t *testing.T) {
	a := command(1, "find", "users", "app")
	b := command(2, "update", "users", "app")
	stream := append(append([]byte(nil), a...), b...)
	r := iotest.OneByteReader(bytes.NewReader(stream)) // partial reads
	buf := make([]byte, 0, 8)
	for _, want := range [][]byte{a, b} {
		got, err := readMessage(r, buf)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %v %x, want %x", err, got, want)
		}
		buf = got[:0]
	}
	if _, err := readMessage(r, buf); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want EOF", err)
	}
	if _, err := readMessage(bytes.NewReader(a[:len(a)-1]), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v, want unexpected EOF", err)
	}
	for _, n := range []uint32{0, 15, maxMessageLen + 1, 1 << 31} {
		h := header(make([]byte, headerLen), 1, 0, opMsg)
		binary.LittleEndian.PutUint32(h, n)
		if _, err := readMessage(bytes.NewReader(h), nil); !errors.Is(err, errMessageLength) {
			t.Fatalf("length %d: %v", n, err)
		}
	}
}

func TestReadMessageAllocations(t *testing.T) {
	msg := command(1, "update", "users", "app")
	r := bytes.NewReader(nil)
	buf := make([]byte, 0, 4096)
	var key []byte
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(msg)
		m, err := readMessage(r, buf)
		if err != nil {
			t.Fatal(err)
		}
		req := classify(m)
		key = append(append(append(key[:0], req.db...), '.'), req.coll...)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

// --- locks ------------------------------------------------------------------------

func TestLockTable(t *testing.T) {
	lt := newLockTable()
	a := lt.acquire(lockNamespace, []byte("d.a"))

	// Another namespace: not blocked.
	b := lt.acquire(lockNamespace, []byte("d.b"))
	lt.release(b)

	// The same namespace: blocked until released.
	got := make(chan heldLock)
	go func() { got <- lt.acquire(lockNamespace, []byte("d.a")) }()
	select {
	case <-got:
		t.Fatal("second writer of d.a got the lock")
	case <-time.After(50 * time.Millisecond):
	}
	// Global exclusive waits for namespace holders.
	global := make(chan heldLock)
	go func() { global <- lt.acquire(lockGlobal, nil) }()
	time.Sleep(20 * time.Millisecond)
	lt.release(a)
	lt.release(<-got)
	g := <-global
	// While global is held, namespace writes wait.
	go func() { got <- lt.acquire(lockNamespace, []byte("d.c")) }()
	select {
	case <-got:
		t.Fatal("namespace write during a global write")
	case <-time.After(50 * time.Millisecond):
	}
	lt.release(g)
	lt.release(<-got)
	if l := lt.ns["d.a"]; l == nil || l.refs != 0 {
		t.Fatalf("d.a entry: %+v", l)
	}
}

func TestLockTableEviction(t *testing.T) {
	lt := newLockTable()
	for i := range 3 * keepNamespaces {
		lt.release(lt.acquire(lockNamespace, []byte{byte(i), byte(i >> 8)}))
	}
	if len(lt.ns) > keepNamespaces+1 {
		t.Fatalf("%d idle namespace entries kept", len(lt.ns))
	}
}

// --- the proxy against a fake engine ----------------------------------------------

// fakeEngine answers every OP_MSG after delay (like FerretDB: one request at a
// time per connection, a reply to every request, moreToCome included) and
// records how many writes of one namespace ran at once.
type fakeEngine struct {
	delay     time.Duration
	mu        sync.Mutex
	running   map[string]int
	maxSameNS int
	readsSeen atomic.Int32
	conns     sync.WaitGroup
}

func (e *fakeEngine) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		e.conns.Add(1)
		go func() {
			defer e.conns.Done()
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				msg, err := readMessage(r, nil)
				if err != nil {
					return
				}
				req := classify(msg)
				ns := string(req.db) + "." + string(req.coll)
				if req.kind == lockNamespace {
					e.mu.Lock()
					e.running[ns]++
					e.maxSameNS = max(e.maxSameNS, e.running[ns])
					e.mu.Unlock()
				} else {
					e.readsSeen.Add(1)
				}
				time.Sleep(e.delay)
				if req.kind == lockNamespace {
					e.mu.Lock()
					e.running[ns]--
					e.mu.Unlock()
				}
				reply := buildMsg(0, 0, bsonDoc(elem{"ok", float64(1)}), nil)
				binary.LittleEndian.PutUint32(reply[8:], uint32(requestID(msg)))
				if _, err := c.Write(reply); err != nil {
					return
				}
			}
		}()
	}
}

func startProxy(t *testing.T, delay time.Duration) (*fakeEngine, *proxy, string) {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "e.sock")
	eln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEngine{delay: delay, running: map[string]int{}}
	go e.serve(eln)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(ln, "unix", sock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = eln.Close()
		e.conns.Wait()
	})
	return e, p, ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, msg []byte) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Error(err)
		return
	}
	reply, err := readMessage(r, nil)
	if err != nil {
		t.Error(err)
		return
	}
	if responseTo(reply) != requestID(msg) {
		t.Errorf("reply to %d, want %d", responseTo(reply), requestID(msg))
	}
}

func TestProxySerializesWrites(t *testing.T) {
	e, p, addr := startProxy(t, 5*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for j := range 5 {
				roundTrip(t, c, r, command(int32(100*i+j), "update", "quotas", "app"))
				roundTrip(t, c, r, command(int32(100*i+j+50), "find", "quotas", "app"))
			}
		}()
	}
	wg.Wait()
	if e.maxSameNS != 1 {
		t.Fatalf("%d writes of one namespace ran at once", e.maxSameNS)
	}
	waitIdle(t, p)
}

// The locks are free again once the connections are gone, however they end.
func waitIdle(t *testing.T, p *proxy) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p.locks.global.TryLock() {
			p.locks.global.Unlock()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a lock is still held")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProxyReleasesOnDisconnect(t *testing.T) {
	_, p, addr := startProxy(t, 100*time.Millisecond)
	for _, partial := range []bool{false, true} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		msg := command(1, "update", "quotas", "app")
		if partial {
			// A write, then half of the next message.
			msg = append(msg, command(2, "update", "quotas", "app")[:10]...)
		}
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the write is running in the engine
		_ = c.Close()
		waitIdle(t, p)
	}
}

func TestProxyDropsMoreToComeReplies(t *testing.T) {
	_, p, addr := startProxy(t, time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	w0 := buildMsg(1, flagMoreToCome, bsonDoc(elem{"update", "c"}, elem{"$db", "d"}), nil)
	if _, err := c.Write(w0); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, r, command(2, "find", "c", "d")) // gets the reply to 2, not to 1
	_ = c.Close()
	waitIdle(t, p)
}

func TestProxyRejectsOversizedMessages(t *testing.T) {
	_, p, addr := startProxy(t, time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := header(make([]byte, headerLen), 1, 0, opMsg)
	binary.LittleEndian.PutUint32(h, maxMessageLen+1)
	if _, err := c.Write(h); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}
	waitIdle(t, p)
}
