// Package fleet is the server's side of the agent protocol
// (internal/agentpb): enrollment, certificate renewal, the long-lived
// Connect stream with its at-least-once ingest, the hub that pushes
// configuration and tasks to connected agents, and the watchdog that
// raises an event when an agent goes silent.
//
// An agent's identity comes only from its client certificate: every
// message on a stream is stored under the certificate's agent ID, and the
// asset IDs an agent sends are namespaced by it (AssetID), so no agent can
// write another's records.
package fleet

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Signer issues agent certificates; *pki.CA implements it.
type Signer interface {
	// SignAgent issues a client certificate for agentID from a CSR,
	// whatever identity the CSR claims.
	SignAgent(csrDER []byte, agentID string, ttl time.Duration) (certDER []byte, serial string, notAfter time.Time, err error)
	// CertPEM is the CA certificate agents pin.
	CertPEM() []byte
}

// Options configure a Service.
type Options struct {
	Store  store.Store
	Signer Signer
	// CertTTL is the lifetime of issued agent certificates (default 30 days).
	CertTTL time.Duration
	// Config is what agents are told on Welcome (defaults: heartbeat 30 s,
	// inventory 300 s, renew at 66 %).
	Config *agentpb.Config
	// Assess is called after an inventory message committed with the IDs
	// of the assets whose packages changed. It must not block for long.
	Assess func(assetIDs []string)
	// OnEvents, when set, is called with the events the server itself
	// recorded (agent.silent) after they committed. It must not block for
	// long.
	OnEvents func([]store.Event)
	Now      func() time.Time
	Logger   *slog.Logger
	Metrics  *Metrics
}

// Service implements agentpb.AgentServer.
type Service struct {
	agentpb.UnimplementedAgentServer
	o Options

	mu    sync.Mutex
	conns map[string]*conn // agent ID → its current stream

	liveMu sync.Mutex
	live   map[string]*heard // agent ID → last heard (liveness.go)

	// Group commit (ingest.go).
	loopsOnce sync.Once
	queues    []*queue
	loops     sync.WaitGroup
	stopLoops context.CancelFunc
}

// New returns a Service.
func New(o Options) *Service {
	if o.CertTTL == 0 {
		o.CertTTL = 30 * 24 * time.Hour
	}
	if o.Config == nil {
		o.Config = &agentpb.Config{HeartbeatSeconds: 30, InventorySeconds: 300, RenewPercent: 66}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Assess == nil {
		o.Assess = func([]string) {}
	}
	return &Service{o: o, conns: map[string]*conn{}, live: map[string]*heard{}}
}

// Close stops the ingest loops (messages still queued are not
// acknowledged: their agents send them again) and writes the liveness
// heard since the last watchdog pass. Call it once the gRPC server has
// stopped.
func (s *Service) Close(ctx context.Context) error {
	s.loopsOnce.Do(func() {}) // no loop starts after Close
	if s.stopLoops != nil {
		s.stopLoops()
	}
	s.loops.Wait()
	return s.FlushLiveness(ctx)
}

// Register adds the service to a gRPC server.
func (s *Service) Register(g *grpc.Server) { agentpb.RegisterAgentServer(g, s) }

// Errors of the hub's operations.
var (
	ErrNotConnected = errors.New("fleet: agent not connected")
)

// AssetID namespaces an agent's own asset ID so that agents cannot collide
// with or overwrite each other's assets. The host asset of an agent is
// AssetID(agentID, "host").
func AssetID(agentID, kind, id string) string {
	h := sha256.Sum256([]byte(agentID + "\x00" + kind + "\x00" + id))
	return kind + "-" + hex.EncodeToString(h[:10])
}

// ClusterID is the asset ID of the cluster with that name: one asset
// shared by every agent whose host is labelled cluster=<name>.
func ClusterID(name string) string {
	h := sha256.Sum256([]byte("cluster\x00" + name))
	return store.AssetCluster + "-" + hex.EncodeToString(h[:10])
}

// identify returns the agent ID of the calling stream's verified client
// certificate, refusing revoked certificates and agents.
func (s *Service) identify(ctx context.Context) (store.Agent, *x509.Certificate, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return store.Agent{}, nil, status.Error(codes.Unauthenticated, "no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return store.Agent{}, nil, status.Error(codes.Unauthenticated, "a client certificate issued by this server is required")
	}
	cert := info.State.VerifiedChains[0][0]
	id, err := pki.AgentID(cert)
	if err != nil {
		return store.Agent{}, nil, status.Errorf(codes.Unauthenticated, "client certificate: %v", err)
	}
	serial := pki.Serial(cert)
	revoked, err := s.o.Store.SerialRevoked(ctx, serial)
	if err != nil {
		return store.Agent{}, nil, status.Errorf(codes.Unavailable, "checking revocation: %v", err)
	}
	a, err := s.o.Store.Agent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, nil, status.Error(codes.PermissionDenied, "unknown agent")
	}
	if err != nil {
		return store.Agent{}, nil, status.Errorf(codes.Unavailable, "loading agent: %v", err)
	}
	if revoked || a.RevokedAt != nil {
		s.o.Metrics.Rejected.WithLabelValues("revoked").Inc()
		return store.Agent{}, nil, status.Error(codes.PermissionDenied, "agent or certificate revoked")
	}
	return a, cert, nil
}
