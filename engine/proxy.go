package main

// The write-serializing proxy in front of FerretDB.
//
// FerretDB v1 applies update, findAndModify and delete as read-modify-write:
// it reads the matching documents, applies the update in Go, and writes them
// back with UPDATE ... WHERE _id = $2 in a READ COMMITTED transaction, without
// row locks. Two concurrent writes to one document therefore both read the old
// version and one of the updates is lost (20 concurrent {$inc: {n: 1}} left
// n = 18; guarded compare-and-set updates all "succeeded"). MongoDB
// guarantees single-document atomicity and Gatehouse relies on it.
//
// So FerretDB listens privately (a Unix socket in the instance directory) and
// clients connect here. Each client connection gets its own engine connection;
// messages are forwarded whole, and a write command is forwarded only once it
// holds its lock (lockTable), which is released when the engine's reply to it
// arrives: writes to one collection run one at a time, writes to different
// collections and all reads run concurrently.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	ioBufferSize = 16 << 10
	// A message buffer grown past this is dropped after use, so an idle
	// connection does not keep a 48 MB buffer.
	keepBufferSize = 1 << 20
	// How long a reply may wait for the client to read it.
	clientWriteTimeout = time.Minute
)

type proxy struct {
	ln             net.Listener
	backendNetwork string // "unix" or "tcp"
	backendAddr    string
	locks          *lockTable
	log            *slog.Logger

	mu      sync.Mutex
	conns   map[*proxyConn]struct{}
	closing bool
	wg      sync.WaitGroup
}

func newProxy(ln net.Listener, backendNetwork, backendAddr string, log *slog.Logger) *proxy {
	return &proxy{
		ln:             ln,
		backendNetwork: backendNetwork,
		backendAddr:    backendAddr,
		locks:          newLockTable(),
		log:            log,
		conns:          make(map[*proxyConn]struct{}),
	}
}

// serve accepts clients until ctx is cancelled, then closes the listener and
// every connection, and returns once their goroutines are done (or after a
// few seconds).
func (p *proxy) serve(ctx context.Context) {
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		p.shutdown()
	}()
	defer close(stopped)

	backoff := 5 * time.Millisecond
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if p.isClosing() || errors.Is(err, net.ErrClosed) {
				break
			}
			// EMFILE and the like: wait and retry rather than stop serving.
			p.log.Warn("proxy: accept failed", "error", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		p.wg.Add(1)
		go p.handle(client)
	}

	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.log.Warn("proxy: connections still open at shutdown")
	}
}

func (p *proxy) isClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing
}

func (p *proxy) shutdown() {
	p.mu.Lock()
	p.closing = true
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.client.Close()
		_ = c.backend.Close()
	}
}

func (p *proxy) handle(client net.Conn) {
	defer p.wg.Done()
	backend, err := net.DialTimeout(p.backendNetwork, p.backendAddr, 10*time.Second)
	if err != nil {
		p.log.Error("proxy: cannot connect to the engine", "error", err)
		_ = client.Close()
		return
	}
	c := &proxyConn{p: p, client: client, backend: backend}

	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		_ = client.Close()
		_ = backend.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()

	upstreamDone := make(chan struct{})
	go func() {
		defer close(upstreamDone)
		c.upstream()
	}()
	c.downstream()
	<-upstreamDone
}

// proxyConn is one client connection and its engine connection.
//
// upstream (client -> engine) classifies each request, acquires its lock,
// records it in pending and forwards it. downstream (engine -> client)
// releases the locks of the request a reply answers, then forwards the reply.
// FerretDB handles a connection's requests one at a time, in order, and
// replies to every one (moreToCome included), so a reply also proves that the
// requests before it are done: their entries are released too.
//
// A lock is released exactly once: by downstream when the reply arrives, or by
// teardown when the engine connection ends (EOF, error, shutdown, panic),
// whichever comes first; an entry leaves pending under mu before its release.
// When the client goes away first, upstream half-closes the engine connection
// and downstream keeps reading until the engine has answered what it was given
// and closed its side: the locks of a write still running in the engine stay
// held until it is done.
type proxyConn struct {
	p               *proxy
	client, backend net.Conn

	mu      sync.Mutex
	pending []pendingRequest
	dead    bool // torn down: nothing may be added to pending

	clientGone atomic.Bool
}

type pendingRequest struct {
	requestID int32
	held      heldLock
	// suppress: the request had moreToCome, so the client expects no reply.
	// FerretDB v1 replies anyway; a driver would take that reply for the answer
	// to its next command (w: 0 writes broke the connection), so it is dropped.
	suppress bool
}

func (c *proxyConn) upstream() {
	var untracked heldLock // acquired, not yet in pending
	defer func() {
		if r := recover(); r != nil {
			c.p.log.Error("proxy: panic reading a client", "panic", r)
			_ = c.client.Close()
		}
		c.p.locks.release(untracked)
		// No more requests: the engine finishes those it has, replies, sees EOF
		// and closes, which ends downstream.
		closeWrite(c.backend)
	}()

	r := bufio.NewReaderSize(c.client, ioBufferSize)
	buf := make([]byte, 0, ioBufferSize)
	var key []byte // namespace of the current write, reused
	for {
		msg, err := readMessage(r, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.p.log.Debug("proxy: client connection ended", "error", err)
			}
			return
		}

		req := classify(msg)
		if req.kind == lockNamespace {
			key = append(append(append(key[:0], req.db...), '.'), req.coll...)
		}
		untracked = c.p.locks.acquire(req.kind, key)
		if untracked.kind != lockNone || req.moreToCome {
			if !c.track(pendingRequest{requestID: requestID(msg), held: untracked, suppress: req.moreToCome}) {
				return // torn down; the deferred release frees it
			}
		}
		untracked = heldLock{}
		if _, err := c.backend.Write(msg); err != nil {
			// The entry (if any) is released by teardown, once downstream sees
			// the engine connection end.
			c.p.log.Debug("proxy: writing to the engine failed", "error", err)
			_ = c.client.Close()
			return
		}

		if cap(msg) > keepBufferSize {
			buf = make([]byte, 0, ioBufferSize)
		} else {
			buf = msg[:0]
		}
	}
}

func (c *proxyConn) downstream() {
	defer func() {
		if r := recover(); r != nil {
			c.p.log.Error("proxy: panic reading the engine", "panic", r)
		}
		c.teardown()
	}()

	r := bufio.NewReaderSize(c.backend, ioBufferSize)
	buf := make([]byte, 0, ioBufferSize)
	for {
		msg, err := readMessage(r, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.p.log.Debug("proxy: engine connection ended", "error", err)
			}
			return
		}

		// Release before writing to the client: a slow client must not hold
		// a lock.
		suppress := c.complete(responseTo(msg))
		if !suppress && !c.clientGone.Load() {
			// The deadline only ends a client that stops reading replies while
			// it keeps sending requests: the engine's replies to those would
			// queue behind, and their locks with them.
			_ = c.client.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
			if _, err := c.client.Write(msg); err != nil {
				// Keep reading: the engine may still be running a write whose
				// lock must stay held until it replies. Closing the client ends
				// upstream, which half-closes the engine connection.
				c.clientGone.Store(true)
				_ = c.client.Close()
			}
		}

		if cap(msg) > keepBufferSize {
			buf = make([]byte, 0, ioBufferSize)
		} else {
			buf = msg[:0]
		}
	}
}

// track records a forwarded request's lock; false when the connection is
// already torn down (the caller then releases the lock itself).
func (c *proxyConn) track(e pendingRequest) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	c.pending = append(c.pending, e)
	return true
}

// complete releases the request the reply with responseTo answers and every
// request recorded before it, and says whether to drop the reply.
func (c *proxyConn) complete(responseTo int32) (suppress bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.pending {
		if c.pending[i].requestID != responseTo {
			continue
		}
		suppress = c.pending[i].suppress
		for j := 0; j <= i; j++ {
			c.p.locks.release(c.pending[j].held)
		}
		n := copy(c.pending, c.pending[i+1:])
		clear(c.pending[n:])
		c.pending = c.pending[:n]
		return suppress
	}
	return false
}

// teardown ends the connection pair and releases whatever it still holds.
func (c *proxyConn) teardown() {
	c.mu.Lock()
	c.dead = true
	rest := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, e := range rest {
		c.p.locks.release(e.held)
	}
	c.clientGone.Store(true)
	_ = c.client.Close()
	_ = c.backend.Close()
}

func closeWrite(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = conn.Close()
}
