// Package server assembles `vigil server`: the store, the certificate
// authority, the agent protocol listener (internal/fleet over gRPC with
// mTLS), the REST API (internal/api) and the web console (internal/console)
// with Prometheus metrics, the
// vulnerability assessor (internal/assess) and, when asked, an agent for
// the local host in the same process, speaking the real protocol over
// loopback.
package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/assess"
	"github.com/vigil-sec/vigil/internal/console"
	"github.com/vigil-sec/vigil/internal/fleet"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Config configures a server.
type Config struct {
	// APIAddr serves the REST API, /healthz and /metrics over HTTP.
	APIAddr string
	// AgentAddr serves the agent protocol (gRPC, TLS, client certificates).
	AgentAddr string
	// DataDir keeps the embedded store, the CA and the local agent's state.
	DataDir string
	// Store is "" (embedded SQLite in DataDir), a file path, or a
	// postgres:// URL.
	Store string
	// VulnDB is the vulnerability database file assessments use.
	VulnDB string
	// AdminName and AdminPassword create the first admin when the store has
	// no user. An empty password is generated and written to
	// DataDir/admin-password (mode 0600).
	AdminName, AdminPassword string
	// Hostnames go into the server certificate besides localhost and the
	// loopback addresses.
	Hostnames []string
	// Heartbeat is the interval agents are told to use (default 30 s).
	Heartbeat time.Duration
	// Inventory is the agents' collection interval (default 5 min).
	Inventory time.Duration
	// WatchInterval is how often silent agents are looked for (default 10 s).
	WatchInterval time.Duration
	// LocalAgent runs an agent for this host inside the server process.
	LocalAgent LocalAgent
	Version    string
	Logger     *slog.Logger
	// Ready, when set, is called once both listeners accept connections.
	Ready func(*Server)
}

// Server is a running server.
type Server struct {
	cfg      Config
	Store    store.Store
	CA       *pki.CA
	Fleet    *fleet.Service
	Assessor *assess.Assessor
	// Notify sends notifications to the configured channels.
	Notify *notify.Dispatcher
	// APIURL and AgentAddr are where the listeners ended up (useful with
	// port 0).
	APIURL    string
	AgentAddr string
	// AdminPasswordFile is set when the server generated the first admin's
	// password.
	AdminPasswordFile string
}

// Run starts the server and blocks until ctx ends, then shuts down.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	if cfg.Inventory == 0 {
		cfg.Inventory = 5 * time.Minute
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = 10 * time.Second
	}
	if cfg.AdminName == "" {
		cfg.AdminName = "admin"
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("server: data directory: %w", err)
	}
	url := cfg.Store
	if url == "" {
		url = filepath.Join(cfg.DataDir, "vigil.db")
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return fmt.Errorf("server: store: %w", err)
	}
	defer st.Close()
	s := &Server{cfg: cfg, Store: st}
	if s.CA, err = pki.LoadOrCreateCA(filepath.Join(cfg.DataDir, "ca")); err != nil {
		return fmt.Errorf("server: CA: %w", err)
	}
	if err := s.bootstrapAdmin(ctx); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if _, ok := st.WAL(); ok {
		wal := func() store.WALStats { w, _ := st.WAL(); return w }
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_store_wal_pages",
				Help: "SQLite WAL size in pages at the last checkpoint; one that keeps growing means checkpoints do not keep up."},
				func() float64 { return float64(wal().Pages) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_store_wal_uncopied_pages",
				Help: "SQLite WAL pages not yet copied into the database file at the last checkpoint."},
				func() float64 { return float64(wal().Left) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_store_checkpoint_failures_total",
				Help: "SQLite WAL checkpoints that failed (a busy file, a full disk)."},
				func() float64 { return float64(wal().Failures) }),
		)
	}
	s.Assessor = assess.New(st, cfg.VulnDB, log.With("component", "assess"))
	defer s.Assessor.Close()
	// Notifications: new findings after an assessment, silent agents.
	s.Notify = notify.NewDispatcher(st, notify.NewSender(nil), log.With("component", "notify"))
	s.Assessor.Synced = s.Notify.Assessed
	s.Fleet = fleet.New(fleet.Options{
		Store: st, Signer: s.CA, Logger: log.With("component", "fleet"), Metrics: fleet.NewMetrics(reg),
		Config: &agentpb.Config{HeartbeatSeconds: uint32(cfg.Heartbeat / time.Second),
			InventorySeconds: uint32(cfg.Inventory / time.Second), RenewPercent: 66},
		Assess:   s.Assessor.Enqueue,
		OnEvents: s.Notify.Events,
	})

	// Agent listener.
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, cfg.Hostnames...)
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	cert, err := s.CA.IssueServer(hosts, 365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("server: certificate: %w", err)
	}
	cert.Certificate = append(cert.Certificate, s.CA.Certificate().Raw) // agents pin the CA in the chain
	revoked := func(serial string) bool {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := st.SerialRevoked(rctx, serial)
		return err != nil || r // fail closed
	}
	g := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(s.CA.ServerTLS(cert, revoked))),
		grpc.MaxRecvMsgSize(64<<20),
		// Thousands of mostly idle streams: small per-connection buffers
		// (the defaults, 32 KiB each way, are 640 MiB for 10,000 agents),
		// the write buffer shared between writes.
		grpc.ReadBufferSize(8<<10),
		grpc.WriteBufferSize(8<<10),
		grpc.SharedWriteBuffer(true),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 20 * time.Second, PermitWithoutStream: true}),
	)
	s.Fleet.Register(g)
	agentLn, err := net.Listen("tcp", cfg.AgentAddr)
	if err != nil {
		return fmt.Errorf("server: agent listener: %w", err)
	}
	s.AgentAddr = agentLn.Addr().String()

	// API listener.
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The API adds component=api to the logger itself.
	apiH := api.New(api.Options{Store: st, Logger: log, Tasks: s.Fleet,
		Version: cfg.Version, AgentInstall: s.installCommand, Notifier: s.Notify})
	mux.Handle("/api/", apiH)
	mux.Handle("/healthz", apiH)
	// The console is a client of the API in the same process (docs/console.md).
	mux.Handle("/", console.New(console.Options{API: apiH, Logger: log.With("component", "console"), Version: cfg.Version}))
	apiLn, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		agentLn.Close()
		return fmt.Errorf("server: API listener: %w", err)
	}
	s.APIURL = "http://" + apiLn.Addr().String()
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(6)
	go func() { defer wg.Done(); s.Notify.Run(ctx) }()
	go func() { defer wg.Done(); s.recordTrends(ctx, time.Hour) }()
	go func() { defer wg.Done(); errc <- g.Serve(agentLn) }()
	go func() {
		defer wg.Done()
		if err := hs.Serve(apiLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() { defer wg.Done(); s.Assessor.Run(ctx, time.Minute) }()
	go func() { defer wg.Done(); s.Fleet.Watch(ctx, cfg.WatchInterval) }()
	log.Info("vigil server started", "api", s.APIURL, "agents", s.AgentAddr, "store", st.Dialect(),
		"ca", pki.Fingerprint(s.CA.Certificate()), "vulndb", cfg.VulnDB)
	if cfg.LocalAgent.Enabled {
		wg.Add(1)
		go func() { defer wg.Done(); s.runLocalAgent(ctx) }()
	}
	if cfg.Ready != nil {
		cfg.Ready(s)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	hs.Shutdown(shutdown)
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdown.Done():
		g.Stop()
	}
	wg.Wait()
	// The streams are gone: stop group commit and write the last liveness.
	if err := s.Fleet.Close(shutdown); err != nil {
		log.Error("closing the agent service", "err", err)
	}
	return runErr
}

// recordTrends records the day's open-finding counts for the overview's
// trend every interval (the last record of a day stands for it).
func (s *Server) recordTrends(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Store.RecordTrend(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("recording the trend", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CAFingerprint is what agents pin at enrollment (--ca-sha256).
func (s *Server) CAFingerprint() string { return pki.Fingerprint(s.CA.Certificate()) }

// bootstrapAdmin creates the first admin when there is no user.
func (s *Server) bootstrapAdmin(ctx context.Context) error {
	pw := s.cfg.AdminPassword
	file := filepath.Join(s.cfg.DataDir, "admin-password")
	if pw == "" {
		if b, err := os.ReadFile(file); err == nil {
			pw = strings.TrimSpace(string(b))
		} else {
			var r [18]byte
			if _, err := rand.Read(r[:]); err != nil {
				return err
			}
			pw = base64.RawURLEncoding.EncodeToString(r[:])
		}
	}
	created, err := api.EnsureAdmin(ctx, s.Store, s.cfg.AdminName, pw)
	if err != nil {
		return fmt.Errorf("server: first admin: %w", err)
	}
	if created && s.cfg.AdminPassword == "" {
		if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
			return fmt.Errorf("server: first admin: %w", err)
		}
		s.AdminPasswordFile = file
		s.cfg.Logger.Info("created the first admin; its password is in the file", "user", s.cfg.AdminName, "file", file)
	}
	return nil
}

// installCommand is the copy-paste command that enrolls a host with token.
func (s *Server) installCommand(token string) string {
	addr := s.AgentAddr
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			if h, err := os.Hostname(); err == nil {
				addr = net.JoinHostPort(h, port)
			}
		}
	}
	return fmt.Sprintf("vigil-agent --server %s --token %s --ca-sha256 %s --state /var/lib/vigil-agent",
		addr, token, strings.TrimPrefix(s.CAFingerprint(), "sha256:"))
}
