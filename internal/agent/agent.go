// Package agent is vigil-agent's runtime: it enrolls once with an
// enrollment token (pinning the server's CA by fingerprint), then keeps one
// mTLS stream to the server, sending heartbeats, inventory snapshots and
// deltas, and events. Every numbered message goes through an on-disk spool
// (internal/spool) and stays there until the server acknowledges it, so
// nothing is lost while the server is unreachable or restarts; a full spool
// drops messages and counts them, and the next inventory is then sent in
// full.
package agent

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/spool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Options configure an Agent.
type Options struct {
	// Server is host:port of the server's agent listener.
	Server string
	// ServerName overrides the TLS name checked on the server certificate
	// (default: Server's host).
	ServerName string
	// Token is the enrollment token, needed only until the agent enrolled.
	Token string
	// CAPin is the expected fingerprint ("sha256:<hex>" or bare hex) of the
	// server's CA certificate, checked at enrollment.
	CAPin string
	// StateDir keeps the identity, the CA certificate and the spool.
	StateDir string
	Version  string
	Hostname string
	// MachineID identifies the host at enrollment (informational).
	MachineID string
	// Collect gathers one inventory; full asks for packages too.
	Collect func(ctx context.Context, full bool) (Collection, error)
	// SpoolBytes bounds the on-disk spool (default 64 MiB).
	SpoolBytes int64
	// Backoff bounds the reconnection delay (defaults 1 s to 1 min).
	MinBackoff, MaxBackoff time.Duration
	// FullEvery makes every n-th collection a full one (default 12).
	FullEvery int
	Logger    *slog.Logger
	// Registerer receives the agent's metrics (nil: not exported).
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Agent is one running agent.
type Agent struct {
	o       Options
	metrics *Metrics
	spool   *spool.Spool

	mu      sync.Mutex
	id      string
	key     crypto.Signer
	certDER []byte
	caPEM   []byte
	config  *agentpb.Config
	nextSeq uint64
	track   *tracker
	dropped uint64 // spool drops seen by the tracker

	renewing atomic.Bool
	// bigSent is the sequence number of the last large message sent and
	// not yet acknowledged (0: none); see session.go.
	bigSent atomic.Uint64
	wake    chan struct{} // a numbered message was spooled
	rescan  chan struct{} // collect now (task, config change)
	started time.Time
}

// New prepares an agent: it opens the state directory and the spool. It
// does not contact the server.
func New(o Options) (*Agent, error) {
	if o.Server == "" || o.StateDir == "" || o.Collect == nil {
		return nil, errors.New("agent: Server, StateDir and Collect are required")
	}
	if o.SpoolBytes == 0 {
		o.SpoolBytes = 64 << 20
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Minute
	}
	if o.FullEvery == 0 {
		o.FullEvery = 12
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	sp, err := spool.Open(filepath.Join(o.StateDir, "spool"), spool.Options{MaxBytes: o.SpoolBytes, Sync: true})
	if err != nil {
		return nil, fmt.Errorf("agent: spool: %w", err)
	}
	a := &Agent{
		o: o, spool: sp, track: newTracker(),
		config:  &agentpb.Config{HeartbeatSeconds: 30, InventorySeconds: 300, RenewPercent: 66},
		wake:    make(chan struct{}, 1),
		rescan:  make(chan struct{}, 1),
		started: o.Now(),
	}
	a.nextSeq = sp.Stats().Last + 1
	a.metrics = newMetrics(o.Registerer, a)
	return a, nil
}

// Close releases the spool.
func (a *Agent) Close() error { return a.spool.Close() }

// ID is the agent's ID once enrolled.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

func (a *Agent) identityPath() string { return filepath.Join(a.o.StateDir, "identity.pem") }
func (a *Agent) caPath() string       { return filepath.Join(a.o.StateDir, "ca.pem") }

// Run enrolls if needed, then collects and streams until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.ensureEnrolled(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.collectLoop(ctx) }()
	err := a.connectLoop(ctx)
	cancel()
	wg.Wait()
	return err
}

// ensureEnrolled loads the identity, or enrolls with the token.
func (a *Agent) ensureEnrolled(ctx context.Context) error {
	key, certDER, err := pki.LoadIdentity(a.identityPath())
	if err == nil {
		caPEM, err := os.ReadFile(a.caPath())
		if err != nil {
			return fmt.Errorf("agent: CA certificate: %w", err)
		}
		return a.setIdentity(key, certDER, caPEM)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("agent: identity: %w", err)
	}
	if a.o.Token == "" {
		return errors.New("agent: not enrolled and no enrollment token given")
	}
	if a.o.CAPin == "" {
		return errors.New("agent: enrolling needs the server CA's fingerprint (--ca-sha256)")
	}
	for backoff := a.o.MinBackoff; ; backoff = min(2*backoff, a.o.MaxBackoff) {
		err := a.enroll(ctx)
		if err == nil {
			return nil
		}
		if errors.Is(err, errPermanent) {
			return err
		}
		a.o.Logger.Warn("enrollment failed; retrying", "err", err, "in", backoff)
		if !sleep(ctx, jitter(backoff)) {
			return ctx.Err()
		}
	}
}

var errPermanent = errors.New("permanent")

func (a *Agent) enroll(ctx context.Context) error {
	key, csr, err := pki.NewAgentKey()
	if err != nil {
		return err
	}
	pin := strings.TrimPrefix(strings.ToLower(a.o.CAPin), "sha256:")
	var pinErr error // set by the handshake, read after the call returned
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pin check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			pinErr = pki.VerifyPinned(raw, pin)
			return pinErr
		},
	}
	conn, err := grpc.NewClient(a.o.Server, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := agentpb.NewAgentClient(conn).Enroll(cctx, &agentpb.EnrollRequest{
		Token: a.o.Token, Csr: csr, Hostname: a.o.Hostname, MachineId: a.o.MachineID, Version: a.o.Version,
	})
	if err != nil {
		if pinErr != nil {
			// Not the server we were told to trust: never send it the token again.
			return fmt.Errorf("agent: server certificate does not match --ca-sha256: %v (%w)", pinErr, errPermanent)
		}
		if isDenied(err) {
			return fmt.Errorf("agent: enrollment refused: %w (%w)", err, errPermanent)
		}
		return err
	}
	ca, err := pki.DecodeCertPEM(resp.GetCaCertificate())
	if err != nil {
		return fmt.Errorf("agent: enrollment answer: %w", err)
	}
	if sum := sha256.Sum256(ca.Raw); hex.EncodeToString(sum[:]) != pin {
		return fmt.Errorf("agent: the server sent a CA certificate other than the pinned one (%w)", errPermanent)
	}
	if err := os.WriteFile(a.caPath(), resp.GetCaCertificate(), 0o600); err != nil {
		return err
	}
	if err := pki.SaveIdentity(a.identityPath(), key, resp.GetCertificate()); err != nil {
		return err
	}
	a.applyConfig(resp.GetConfig())
	a.o.Logger.Info("enrolled", "agent", resp.GetAgentId())
	return a.setIdentity(key, resp.GetCertificate(), resp.GetCaCertificate())
}

func (a *Agent) setIdentity(key crypto.Signer, certDER, caPEM []byte) error {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("agent: certificate: %w", err)
	}
	id, err := pki.AgentID(cert)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.id, a.certDER, a.caPEM = id, certDER, caPEM
	a.key = key
	return nil
}

func (a *Agent) applyConfig(c *agentpb.Config) {
	if c == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.config = proto.Clone(c).(*agentpb.Config)
	if a.config.HeartbeatSeconds == 0 {
		a.config.HeartbeatSeconds = 30
	}
	if a.config.InventorySeconds == 0 {
		a.config.InventorySeconds = 300
	}
	if a.config.RenewPercent == 0 || a.config.RenewPercent > 95 {
		a.config.RenewPercent = 66
	}
}

// Config is the configuration the agent runs with (from the server).
func (a *Agent) Config() *agentpb.Config { return proto.Clone(a.cfg()).(*agentpb.Config) }

func (a *Agent) cfg() *agentpb.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.config
}

// enqueue numbers a message and spools it. A full spool drops it (counted
// by the spool); the tracker is reset so the next inventory goes in full.
func (a *Agent) enqueue(m *agentpb.AgentMessage) error {
	a.mu.Lock()
	seq := a.nextSeq
	m.Seq = seq
	if m.Time == nil {
		m.Time = timestamppb.New(a.o.Now())
	}
	b, err := proto.Marshal(m)
	if err != nil {
		a.mu.Unlock()
		return err
	}
	err = a.spool.Append(seq, b)
	if err == nil {
		a.nextSeq++
	}
	a.mu.Unlock()
	if errors.Is(err, spool.ErrFull) {
		a.o.Logger.Warn("spool full: message dropped", "seq", seq, "bytes", len(b))
		return err
	}
	if err != nil {
		return fmt.Errorf("agent: spool: %w", err)
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// Rescan asks for a full collection now.
func (a *Agent) Rescan() {
	select {
	case a.rescan <- struct{}{}:
	default:
	}
}

func (a *Agent) collectLoop(ctx context.Context) {
	n := 0
	for {
		full := n%a.o.FullEvery == 0
		a.collectOnce(ctx, full)
		n++
		t := time.NewTimer(time.Duration(a.cfg().GetInventorySeconds()) * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-a.rescan:
			t.Stop()
			n = 0
		}
	}
}

// collectOnce collects and spools the delta, if any. After a full
// collection (every package read, parsed and marshalled: tens of MiB on a
// large host, garbage once spooled; every reader's code paged in) that
// memory goes back to the operating system at once rather than over the
// next minutes (ReleaseMemory): an idle agent's RSS is what it keeps, not
// the peak of its last scan.
func (a *Agent) collectOnce(ctx context.Context, full bool) {
	if full {
		defer ReleaseMemory()
	}
	c, err := a.o.Collect(ctx, full)
	if err != nil {
		a.o.Logger.Error("inventory collection failed", "err", err)
		return
	}
	a.mu.Lock()
	if d := a.spool.Stats().Dropped; d != a.dropped {
		a.dropped = d
		a.track.reset() // the server missed something: resend in full
	}
	inv := a.track.delta(c)
	a.mu.Unlock()
	if inv == nil {
		return
	}
	if err := a.enqueue(&agentpb.AgentMessage{Body: &agentpb.AgentMessage_Inventory{Inventory: inv}}); err != nil {
		a.mu.Lock()
		a.track.reset()
		a.mu.Unlock()
	}
}

// SendEvents spools a batch of events.
func (a *Agent) SendEvents(evs []*agentpb.Event) error {
	return a.enqueue(&agentpb.AgentMessage{Body: &agentpb.AgentMessage_Events{Events: &agentpb.Events{Events: evs}}})
}

func (a *Agent) connectLoop(ctx context.Context) error {
	backoff := a.o.MinBackoff
	for {
		start := a.o.Now()
		err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errPermanent) {
			return err
		}
		if a.o.Now().Sub(start) > 2*a.o.MaxBackoff {
			backoff = a.o.MinBackoff // the session was healthy for a while
		}
		a.metrics.reconnects.Inc()
		a.o.Logger.Warn("disconnected from server", "err", err, "retry_in", backoff)
		if !sleep(ctx, jitter(backoff)) {
			return nil
		}
		backoff = min(2*backoff, a.o.MaxBackoff)
	}
}

// jitter spreads d over [d/2, d) so that agents cut off together do not
// reconnect together.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (a *Agent) dial() (*grpc.ClientConn, error) {
	a.mu.Lock()
	cfg, err := pki.ClientTLS(a.caPEM, a.certDER, a.key)
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if a.o.ServerName != "" {
		cfg.ServerName = a.o.ServerName
	}
	return grpc.NewClient(a.o.Server,
		grpc.WithTransportCredentials(credentials.NewTLS(cfg)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(maxMessage)),
	)
}

// maxMessage bounds one protocol message (a host with many packages).
const maxMessage = 64 << 20
