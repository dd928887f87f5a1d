// Command gatehouse-engine is Gatehouse's bundled MongoDB-protocol engine:
// FerretDB v1 embedded as a Go package, with the PostgreSQL backend, behind a
// small wire-protocol proxy that serializes writes (proxy.go explains why).
//
// FerretDB listens privately on a Unix socket (-backend-socket; a loopback
// port chosen by the kernel when none is given or the path is too long for a
// socket address); clients connect to -listen-addr, the proxy's listener.
//
// It exists because no mongod can be installed on the development and CI
// machines (see ARCHITECTURE.md, "Storage"). scripts/db.sh builds it, creates
// the private PostgreSQL cluster it talks to, and starts/stops it.
//
// The FerretDB command itself (cmd/ferretdb) is not used: outside a release
// build its build/version/version.txt is missing and it panics at start. The
// embeddable `ferretdb` package reports the version "embedded" instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to accept MongoDB wire-protocol clients on; port 0 picks a free port")
	backendSocket := flag.String("backend-socket", "", "Unix socket path FerretDB listens on behind the proxy (removed first if stale); empty or too long: a free loopback port")
	uriFile := flag.String("uri-file", "", "if set, write the MongoDB URI (with the bound port) to this file once listening")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL connection URL of the backend database (required), e.g. postgres://user@127.0.0.1:5432/ferretdb")
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	flag.Parse()

	if *pgURL == "" {
		fmt.Fprintln(os.Stderr, "gatehouse-engine: -postgresql-url is required")
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse-engine: invalid -log-level %q: use debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	// Cancelling ctx on SIGTERM/SIGINT makes the proxy and FerretDB's Run close
	// their listeners, the connections and the PostgreSQL pool, so the process
	// exits with status 0.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// The clients' listener, bound first: a port taken by another process
	// fails the start before anything else is set up (scripts/db.sh then
	// retries on another port). Clients that connect early wait in the
	// backlog until the proxy accepts, once FerretDB is up.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse-engine: %s\n", err)
		os.Exit(1)
	}

	backendListener := ferretdb.ListenerConfig{TCP: "127.0.0.1:0"}
	if *backendSocket != "" && len(*backendSocket) <= maxUnixPath {
		if err := removeStaleSocket(*backendSocket); err != nil {
			fmt.Fprintf(os.Stderr, "gatehouse-engine: %s\n", err)
			os.Exit(1)
		}
		backendListener = ferretdb.ListenerConfig{Unix: *backendSocket}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      backendListener,
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse-engine: %s\n", err)
		os.Exit(1)
	}
	backendNetwork, backendAddr := "unix", backendListener.Unix
	if backendAddr == "" {
		// New has bound the port; MongoDBURI waits for that and returns it.
		u, err := url.Parse(f.MongoDBURI())
		if err != nil {
			fmt.Fprintf(os.Stderr, "gatehouse-engine: FerretDB's address: %s\n", err)
			os.Exit(1)
		}
		backendNetwork, backendAddr = "tcp", u.Host
	}

	// The address (and the port, when 0 was asked for) is known now. Writing
	// it through a temporary file and a rename means a reader never sees a
	// partial line.
	uri := (&url.URL{Scheme: "mongodb", Host: ln.Addr().String(), Path: "/"}).String()
	logger.Info("gatehouse-engine listening", "uri", uri, "engine", backendNetwork+":"+backendAddr)
	if *uriFile != "" {
		tmp := *uriFile + ".tmp"
		err := os.WriteFile(tmp, []byte(uri+"\n"), 0o644)
		if err == nil {
			err = os.Rename(tmp, *uriFile)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "gatehouse-engine: writing -uri-file: %s\n", err)
			os.Exit(1)
		}
	}

	// Cancelling ctx stops both: the proxy closes its listener and client
	// connections, FerretDB its listener (removing the socket file), its
	// connections and the PostgreSQL pool.
	p := newProxy(ln, backendNetwork, backendAddr, logger)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.serve(ctx)
	}()
	err = f.Run(ctx)
	stop()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "gatehouse-engine: %s\n", err)
		os.Exit(1)
	}
}

// maxUnixPath: a socket address holds at most 107 bytes of path (108 with the
// NUL on Linux, 104 on some systems); longer paths fall back to loopback TCP.
const maxUnixPath = 100

// removeStaleSocket removes a socket file left by an engine that was killed
// (FerretDB could not listen over it), unless an engine still answers on it.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		_ = c.Close()
		return fmt.Errorf("another engine listens on %s", path)
	}
	return os.Remove(path)
}
