package main

// The little of the MongoDB wire protocol the write-serializing proxy needs:
// message framing, and for OP_MSG requests the command name, its first
// value (the collection of a collection command) and $db. Everything else is
// forwarded byte for byte; FerretDB parses and validates it properly.
//
//	header:  int32 messageLength (includes the header), int32 requestID,
//	         int32 responseTo, int32 opCode (all little-endian)
//	OP_MSG:  uint32 flagBits, then sections up to the end (minus a CRC-32C
//	         when checksumPresent): kind 0 = one BSON document (the command),
//	         kind 1 = int32 size, cstring identifier, BSON documents.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	headerLen = 16
	// maxMessageLen is MongoDB's maxMessageSizeBytes, which FerretDB enforces too.
	maxMessageLen = 48_000_000

	opReply      = 1
	opQuery      = 2004
	opCompressed = 2012
	opMsg        = 2013

	flagChecksumPresent = 1 << 0
	flagMoreToCome      = 1 << 1
)

var errMessageLength = errors.New("invalid message length")

// readMessage reads one whole message from r into buf (grown when too small)
// and returns it, header included. io.ReadFull makes partial reads harmless;
// an EOF in the middle of a message is io.ErrUnexpectedEOF.
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	if cap(buf) < headerLen {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:headerLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf[:0], err
	}
	n := int32(binary.LittleEndian.Uint32(buf))
	if n < headerLen || n > maxMessageLen {
		return buf[:0], fmt.Errorf("%w: %d bytes", errMessageLength, n)
	}
	if int(n) > cap(buf) {
		grown := make([]byte, n, max(int(n), 2*cap(buf)))
		copy(grown, buf[:headerLen])
		buf = grown
	} else {
		buf = buf[:n]
	}
	if _, err := io.ReadFull(r, buf[headerLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf[:0], err
	}
	return buf, nil
}

func requestID(msg []byte) int32  { return int32(binary.LittleEndian.Uint32(msg[4:])) }
func responseTo(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[8:])) }
func opCode(msg []byte) int32     { return int32(binary.LittleEndian.Uint32(msg[12:])) }

// lockKind is what a request must hold while the engine executes it.
type lockKind uint8

const (
	lockNone      lockKind = iota // a read: nothing
	lockNamespace                 // a collection write: the global lock shared and its namespace's lock
	lockGlobal                    // everything else: the global lock exclusively
)

func (k lockKind) String() string {
	switch k {
	case lockNone:
		return "none"
	case lockNamespace:
		return "namespace"
	default:
		return "global"
	}
}

// request is what classify finds out about a client message. db and coll
// point into the message buffer.
type request struct {
	kind       lockKind
	moreToCome bool // OP_MSG moreToCome: the client expects no reply
	command    []byte
	db, coll   []byte
}

// readCommand reports whether an OP_MSG command only reads. It is an
// allow-list: a command that is not on it (an unknown one included) is treated
// as a write, so a mistake here costs concurrency, never atomicity. FerretDB
// v1.24 has no $out or $merge aggregation stage (both are in its list of
// unsupported stages), so aggregate never writes; its explain only plans
// queries.
func readCommand(cmd []byte) bool {
	switch string(cmd) {
	case "find", "getMore", "aggregate", "count", "distinct", "explain", "killCursors",
		"listCollections", "listIndexes", "listDatabases", "listCommands",
		"hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo",
		"serverStatus", "dbStats", "dbstats", "collStats", "dataSize", "hostInfo",
		"getParameter", "getCmdLineOpts", "getLog", "getFreeMonitoringStatus", "currentOp",
		"saslStart", "saslContinue", "connectionStatus", "whatsmyuri", "endSessions", "logout":
		return true
	}
	return false
}

// collectionWrite reports whether a write command acts on the one collection
// named by its first value (insert: "users"). Other writes (dropDatabase,
// renameCollection, whose value names two namespaces, unknown commands) take
// the global lock.
func collectionWrite(cmd []byte) bool {
	switch string(cmd) {
	case "insert", "update", "delete", "findAndModify", "findandmodify",
		"create", "drop", "createIndexes", "dropIndexes", "collMod", "compact", "validate":
		return true
	}
	return false
}

// classify decides the lock a client message needs. Anything it cannot make
// sense of takes the global lock (fail-safe): the message is still forwarded,
// and the engine answers it (usually with an error) or closes the connection.
func classify(msg []byte) request {
	switch opCode(msg) {
	case opMsg:
		return classifyMsg(msg)
	case opQuery:
		// Legacy OP_QUERY: drivers send the first hello this way; FerretDB
		// answers only hello/isMaster and the SASL steps on it.
		return request{kind: lockNone}
	default:
		return request{kind: lockGlobal}
	}
}

func classifyMsg(msg []byte) request {
	if len(msg) < headerLen+4 {
		return request{kind: lockGlobal}
	}
	flags := binary.LittleEndian.Uint32(msg[headerLen:])
	req := request{kind: lockGlobal, moreToCome: flags&flagMoreToCome != 0}
	end := len(msg)
	if flags&flagChecksumPresent != 0 {
		end -= 4
	}
	var body []byte
	for pos := headerLen + 4; pos < end; {
		kind := msg[pos]
		pos++
		if pos+4 > end {
			return req
		}
		size := int(int32(binary.LittleEndian.Uint32(msg[pos:])))
		if size < 5 || size > end-pos {
			return req
		}
		switch kind {
		case 0:
			if body != nil {
				return req // two bodies: malformed
			}
			body = msg[pos : pos+size]
		case 1:
		default:
			return req
		}
		pos += size
	}
	if body == nil {
		return req
	}
	cmd, first, db, ok := commandFields(body)
	if !ok || len(cmd) == 0 {
		return req
	}
	req.command = cmd
	switch {
	case readCommand(cmd):
		req.kind = lockNone
	case collectionWrite(cmd) && first != nil && db != nil:
		req.kind, req.db, req.coll = lockNamespace, db, first
	}
	return req
}

// commandFields walks the top level of a BSON document (whose int32 size the
// caller has checked against the buffer) and returns the first element's name,
// that element's value when it is a string, and the value of $db when it is a
// string. ok is false for a malformed document.
func commandFields(doc []byte) (cmd, first, db []byte, ok bool) {
	end := len(doc) - 1
	if end < 4 || doc[end] != 0 {
		return nil, nil, nil, false
	}
	for pos, i := 4, 0; pos < end; i++ {
		typ := doc[pos]
		pos++
		name, next, ok := cstring(doc, pos, end)
		if !ok {
			return nil, nil, nil, false
		}
		pos = next
		valueStart := pos
		pos, ok = skipValue(doc, typ, pos, end)
		if !ok {
			return nil, nil, nil, false
		}
		var str []byte
		if typ == 0x02 {
			// int32 length (including the NUL), bytes, NUL.
			str = doc[valueStart+4 : pos-1]
		}
		if i == 0 {
			cmd, first = name, str
		} else if str != nil && string(name) == "$db" {
			db = str
		}
	}
	return cmd, first, db, true
}

// cstring returns the NUL-terminated string starting at pos and the position
// after its NUL.
func cstring(b []byte, pos, end int) ([]byte, int, bool) {
	for i := pos; i < end; i++ {
		if b[i] == 0 {
			return b[pos:i], i + 1, true
		}
	}
	return nil, 0, false
}

// skipValue returns the position after a value of BSON type typ at pos.
func skipValue(b []byte, typ byte, pos, end int) (int, bool) {
	fixed := -1
	switch typ {
	case 0x01, 0x09, 0x11, 0x12: // double, UTC datetime, timestamp, int64
		fixed = 8
	case 0x07: // ObjectId
		fixed = 12
	case 0x08: // bool
		fixed = 1
	case 0x10: // int32
		fixed = 4
	case 0x13: // decimal128
		fixed = 16
	case 0x06, 0x0A, 0x7F, 0xFF: // undefined, null, maxKey, minKey
		fixed = 0
	case 0x02, 0x0D, 0x0E: // string, JavaScript code, symbol: int32 length, bytes, NUL
		n, ok := int32At(b, pos, end)
		if !ok || n < 1 || n > end-pos-4 || b[pos+4+n-1] != 0 {
			return 0, false
		}
		return pos + 4 + n, true
	case 0x03, 0x04, 0x0F: // document, array, code with scope: int32 total size
		n, ok := int32At(b, pos, end)
		if !ok || n < 5 || n > end-pos {
			return 0, false
		}
		return pos + n, true
	case 0x05: // binary: int32 length, subtype, bytes
		n, ok := int32At(b, pos, end)
		if !ok || n < 0 || n > end-pos-5 {
			return 0, false
		}
		return pos + 5 + n, true
	case 0x0B: // regex: two cstrings
		_, next, ok := cstring(b, pos, end)
		if !ok {
			return 0, false
		}
		_, next, ok = cstring(b, next, end)
		return next, ok
	case 0x0C: // DBPointer: string, 12 bytes
		next, ok := skipValue(b, 0x02, pos, end)
		if !ok || next+12 > end {
			return 0, false
		}
		return next + 12, true
	default:
		return 0, false
	}
	if pos+fixed > end {
		return 0, false
	}
	return pos + fixed, true
}

func int32At(b []byte, pos, end int) (int, bool) {
	if pos+4 > end {
		return 0, false
	}
	return int(int32(binary.LittleEndian.Uint32(b[pos:]))), true
}
