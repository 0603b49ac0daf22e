package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	inv "github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/server"
	"github.com/vigil-sec/vigil/internal/vulndb"
)

const serverUsage = `Usage: vigil server [flags]

Runs the Vigil server: the REST API (/api/v1, OpenAPI at /api/v1/openapi.json),
/healthz and Prometheus /metrics on --api-addr; the agent protocol (gRPC over
mTLS) on --agent-addr. By default it keeps its state in an embedded SQLite
file under --data and runs an agent for this host in the same process, so
the host's inventory and vulnerabilities are in the API within a minute.

The first admin is "admin"; its password comes from $VIGIL_ADMIN_PASSWORD,
or is generated and written to DATA/admin-password.

Flags:
`

// runServer runs `vigil server`.
func runServer(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("vigil server", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, serverUsage); fs.PrintDefaults() }
	var (
		apiAddr    = fs.String("api-addr", "127.0.0.1:8080", "REST API, /healthz and /metrics listen address (HTTP)")
		agentAddr  = fs.String("agent-addr", ":8443", "agent protocol listen address (gRPC, mTLS)")
		data       = fs.String("data", defaultDataDir(env), "state directory (embedded store, CA, local agent)")
		storeURL   = fs.String("store", "", "store: empty or \"sqlite\" for embedded SQLite in --data, a file path, or a postgres:// URL")
		adminFile  = fs.String("admin-password-file", "", "file holding the first admin's password (default $VIGIL_ADMIN_PASSWORD, else generated)")
		db         = fs.String("vulndb", "", "vulnerability database (default $VIGIL_DB or ~/.cache/vigil/db/vulndb.sqlite)")
		advisories = fs.String("advisories", "", "build the vulnerability database from this directory of advisory files when it does not exist (offline)")
		local      = fs.Bool("local-agent", true, "run an agent for this host inside the server")
		hostRoot   = fs.String("host-root", "/", "root of the host the local agent inventories")
		names      = fs.String("hostnames", "", "comma-separated extra names and IPs for the agent listener's certificate")
		heartbeat  = fs.Duration("heartbeat", 30*time.Second, "heartbeat interval agents are told to use")
		inventory  = fs.Duration("inventory", 5*time.Minute, "inventory collection interval agents are told to use")
		logLevel   = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("vigil server takes no arguments")
	}
	log, err := newLogger(env.Stderr, *logLevel)
	if err != nil {
		return err
	}
	inv.RouteExtractorLog(log)
	dbPath := *db
	if dbPath == "" {
		dbPath = env.getenv("VIGIL_DB")
	}
	if dbPath == "" {
		dbPath = vulndb.DefaultPath()
	}
	if *advisories != "" {
		if err := buildIfMissing(ctx, env, dbPath, *advisories); err != nil {
			return err
		}
	}
	if _, err := os.Stat(dbPath); err != nil {
		log.Warn("no vulnerability database yet: inventory only until one exists (vigil db update, or vigil db build --from DIR)", "path", dbPath)
	}
	adminPW := env.getenv("VIGIL_ADMIN_PASSWORD")
	if *adminFile != "" {
		b, err := os.ReadFile(*adminFile)
		if err != nil {
			return fmt.Errorf("--admin-password-file: %w", err)
		}
		adminPW = strings.TrimSpace(string(b))
	}
	store := *storeURL
	if store == "sqlite" {
		store = ""
	}
	var hosts []string
	for _, h := range strings.Split(*names, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return server.Run(ctx, server.Config{
		APIAddr: *apiAddr, AgentAddr: *agentAddr, DataDir: *data, Store: store, VulnDB: dbPath,
		AdminPassword: adminPW, Hostnames: hosts,
		Heartbeat: *heartbeat, Inventory: *inventory,
		LocalAgent: server.LocalAgent{Enabled: *local, Root: *hostRoot},
		Version:    env.Version, Logger: log,
		Ready: func(s *server.Server) {
			fmt.Fprintf(env.Stderr, "\nVigil server is up.\n  console: %s/\n  API:     %s/api/v1 (OpenAPI: %s/api/v1/openapi.json)\n  agents:  %s\n  CA:      %s\n",
				s.APIURL, s.APIURL, s.APIURL, s.AgentAddr, s.CAFingerprint())
			if s.AdminPasswordFile != "" {
				fmt.Fprintf(env.Stderr, "  admin:   user \"admin\", password in %s\n", s.AdminPasswordFile)
			}
			fmt.Fprintf(env.Stderr, "  try:     curl -s -X POST %s/api/v1/login -d '{\"name\":\"admin\",\"password\":\"…\"}'\n\n", s.APIURL)
		},
	})
}

// defaultDataDir is /var/lib/vigil for root, else ~/.local/share/vigil.
func defaultDataDir(env *Env) string {
	if d := env.getenv("VIGIL_DATA"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/vigil"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "vigil")
	}
	return "vigil-data"
}

// buildIfMissing builds the vulnerability database from local advisory
// files when there is none at path.
func buildIfMissing(ctx context.Context, env *Env, path, dir string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	inputs, err := vulndb.DetectInputs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	rep, err := vulndb.BuildFrom(ctx, path, inputs, env.now())
	if err != nil {
		return fmt.Errorf("building the vulnerability database from %s: %w", dir, err)
	}
	fmt.Fprintf(env.Stderr, "built the vulnerability database from %s: %d advisories\n", dir, rep.Meta.Advisories)
	return nil
}
