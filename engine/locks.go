package main

import "sync"

// lockTable holds the proxy's write locks: one RW lock for the whole engine,
// and one mutex per namespace ("db.collection").
//
// A collection write holds global shared + its namespace exclusively; a write
// without a single collection (dropDatabase, renameCollection, unknown
// commands) holds global exclusively; reads hold nothing. Every request takes
// at most one namespace lock and always global first, so there is no lock
// order to get wrong; and a lock is only ever held for a request that has
// already been forwarded to the engine, whose completion does not depend on
// any proxy lock, so every holder eventually releases (see proxyConn).
//
// Unlocking happens on another goroutine than locking (the one that reads the
// engine's reply), which sync.Mutex and sync.RWMutex allow.
type lockTable struct {
	global sync.RWMutex

	mu sync.Mutex
	ns map[string]*nsLock
}

type nsLock struct {
	sync.Mutex
	refs int // holders and waiters; guarded by lockTable.mu
	key  string
}

// keepNamespaces: entries of idle namespaces are kept (so steady-state writes
// allocate nothing) until there are this many, then dropped when idle.
const keepNamespaces = 1024

func newLockTable() *lockTable {
	return &lockTable{ns: make(map[string]*nsLock)}
}

// heldLock is what release needs to undo an acquire.
type heldLock struct {
	kind lockKind
	ns   *nsLock
}

// acquire blocks until the locks of kind are held. key is the namespace for
// lockNamespace (the map lookup with string(key) does not allocate).
func (t *lockTable) acquire(kind lockKind, key []byte) heldLock {
	switch kind {
	case lockNone:
		return heldLock{}
	case lockNamespace:
		t.global.RLock()
		t.mu.Lock()
		l := t.ns[string(key)]
		if l == nil {
			l = &nsLock{key: string(key)}
			t.ns[l.key] = l
		}
		l.refs++
		t.mu.Unlock()
		l.Lock()
		return heldLock{kind: lockNamespace, ns: l}
	default:
		t.global.Lock()
		return heldLock{kind: lockGlobal}
	}
}

// release undoes acquire; it never blocks for long (only on t.mu).
func (t *lockTable) release(h heldLock) {
	switch h.kind {
	case lockNamespace:
		h.ns.Unlock()
		t.mu.Lock()
		h.ns.refs--
		if h.ns.refs == 0 && len(t.ns) > keepNamespaces {
			delete(t.ns, h.ns.key)
		}
		t.mu.Unlock()
		t.global.RUnlock()
	case lockGlobal:
		t.global.Unlock()
	}
}
