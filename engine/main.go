// Command gatehouse-engine is Gatehouse's bundled MongoDB-protocol engine:
// FerretDB v1 embedded as a Go package, with the PostgreSQL backend.
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
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to accept MongoDB wire-protocol clients on; port 0 picks a free port")
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

	// Cancelling ctx on SIGTERM/SIGINT makes Run close the listener, the client
	// connections and the PostgreSQL pool, so the process exits with status 0.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse-engine: %s\n", err)
		os.Exit(1)
	}

	// New has already bound the listener, so the address (and the port, when
	// 0 was asked for) is known now. Writing it through a temporary file and a
	// rename means a reader never sees a partial line.
	uri := f.MongoDBURI()
	logger.Info("gatehouse-engine listening", "uri", uri)
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

	if err := f.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "gatehouse-engine: %s\n", err)
		os.Exit(1)
	}
}
