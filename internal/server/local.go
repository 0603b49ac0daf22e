package server

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/store"
)

// LocalAgent configures the agent the server can run for its own host.
type LocalAgent struct {
	Enabled bool
	// Root is the host root to inventory (default "/").
	Root string
	// Collect replaces the host collector (tests).
	Collect func(ctx context.Context, full bool) (agent.Collection, error)
}

// runLocalAgent enrolls (once; the identity is kept in the data directory)
// and runs an agent for this host over loopback with the real protocol.
func (s *Server) runLocalAgent(ctx context.Context) {
	log := s.cfg.Logger.With("component", "local-agent")
	stateDir := filepath.Join(s.cfg.DataDir, "local-agent")
	var token string
	if _, err := os.Stat(filepath.Join(stateDir, "identity.pem")); err != nil {
		t, err := s.localEnrollToken(ctx)
		if err != nil {
			log.Error("local agent: enrollment token", "err", err)
			return
		}
		token = t
	}
	collect := s.cfg.LocalAgent.Collect
	if collect == nil {
		collect = (&agent.HostCollector{Root: s.cfg.LocalAgent.Root, Logger: log}).Collect
	}
	hostname, _ := os.Hostname()
	a, err := agent.New(agent.Options{
		Server: loopback(s.AgentAddr), ServerName: "localhost", Token: token,
		CAPin: pki.Fingerprint(s.CA.Certificate()), StateDir: stateDir, Version: s.cfg.Version,
		Hostname: hostname, Collect: collect, Logger: log,
	})
	if err != nil {
		log.Error("local agent", "err", err)
		return
	}
	defer a.Close()
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("local agent stopped", "err", err)
	}
}

// localEnrollToken creates a one-use, short-lived enrollment token for the
// local agent.
func (s *Server) localEnrollToken(ctx context.Context) (string, error) {
	tok := auth.NewToken(auth.KindEnroll)
	now := time.Now()
	_, err := s.Store.CreateEnrollToken(ctx, store.EnrollToken{
		Name: "local agent", Hash: auth.Hash(tok), ExpiresAt: now.Add(10 * time.Minute), MaxUses: 1,
		Labels: map[string]string{"vigil.local": "true"}, CreatedBy: "server", CreatedAt: now,
	})
	return tok, err
}

// loopback turns a listener address into one to dial on this host.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
