package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fleet"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
)

// testServer is the server side of the protocol: a real store, CA, TLS
// listener and fleet service, on loopback.
type testServer struct {
	t        *testing.T
	st       store.Store
	ca       *pki.CA
	fleet    *fleet.Service
	addr     string
	g        *grpc.Server
	mu       sync.Mutex
	assessed []string
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, st: st, ca: ca}
	s.fleet = fleet.New(fleet.Options{Store: st, Signer: ca,
		Config: &agentpb.Config{HeartbeatSeconds: 1, InventorySeconds: 3600, RenewPercent: 66},
		Assess: func(ids []string) { s.mu.Lock(); s.assessed = append(s.assessed, ids...); s.mu.Unlock() }})
	s.start("127.0.0.1:0")
	return s
}

// start serves on addr (again, after stop, on the same address).
func (s *testServer) start(addr string) {
	s.t.Helper()
	cert, err := s.ca.IssueServer([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	cert.Certificate = append(cert.Certificate, s.ca.Certificate().Raw)
	revoked := func(serial string) bool {
		r, err := s.st.SerialRevoked(context.Background(), serial)
		return err != nil || r
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old listener's port may linger briefly
		ln, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.g = grpc.NewServer(grpc.Creds(credentials.NewTLS(s.ca.ServerTLS(cert, revoked))))
	s.fleet.Register(s.g)
	go s.g.Serve(ln)
	s.t.Cleanup(s.g.Stop)
}

func (s *testServer) stop() { s.g.Stop() }

func (s *testServer) token(maxUses int) string {
	s.t.Helper()
	tok := auth.NewToken(auth.KindEnroll)
	_, err := s.st.CreateEnrollToken(context.Background(), store.EnrollToken{Name: "test", Hash: auth.Hash(tok),
		ExpiresAt: time.Now().Add(time.Hour), MaxUses: maxUses, CreatedBy: "test", CreatedAt: time.Now()})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// fakeHost is a Collect function whose inventory the test changes.
type fakeHost struct {
	mu    sync.Mutex
	pkgs  []string // name@version
	procs []string
	calls int
}

func (f *fakeHost) set(pkgs, procs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pkgs, f.procs = pkgs, procs
}

func (f *fakeHost) collect(ctx context.Context, full bool) (agent.Collection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	host := &agentpb.AssetRecord{Id: "host", Kind: "host", Name: "test-host", Os: "debian 12",
		Attrs: []byte(`{"os":{"id":"debian","versionId":"12"}}`)}
	for _, p := range f.pkgs {
		host.Packages = append(host.Packages, &agentpb.Package{Id: p, Name: p, Version: "1", Ecosystem: "Debian"})
	}
	for _, p := range f.procs {
		host.Items = append(host.Items, &agentpb.Item{Kind: "process", Key: p, Data: []byte(`{"name":"` + p + `"}`)})
	}
	return agent.Collection{Assets: []agent.CollectedAsset{{Record: host, HasPackages: full, ItemKinds: []string{"process"}}}}, nil
}

func newAgent(t *testing.T, s *testServer, token, pin string, f *fakeHost, mod func(*agent.Options)) *agent.Agent {
	t.Helper()
	o := agent.Options{Server: s.addr, ServerName: "localhost", Token: token, CAPin: pin,
		StateDir: t.TempDir(), Version: "test", Hostname: "test-host", Collect: f.collect,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, FullEvery: 1, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if mod != nil {
		mod(&o)
	}
	a, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// run starts a.Run and returns a channel with its result.
func run(t *testing.T, a *agent.Agent) (chan error, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop")
		}
	})
	return done, cancel
}

// eventually polls cond for up to 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func packageNames(t *testing.T, st store.Store, assetID string) []string {
	t.Helper()
	pkgs, err := st.AssetPackages(context.Background(), assetID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

func itemKeys(t *testing.T, st store.Store, assetID, kind string) []string {
	t.Helper()
	page, err := st.ListItems(context.Background(), store.ListOptions{Filter: map[string]string{"asset_id": assetID, "kind": kind}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range page.Items {
		keys = append(keys, it.Key)
	}
	return keys
}

func TestEnrollSnapshotDeltaEvents(t *testing.T) {
	s := newTestServer(t)
	f := &fakeHost{}
	f.set([]string{"openssl", "zlib", "bash"}, []string{"1", "2"})
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), f, nil)
	run(t, a)
	ctx := context.Background()
	eventually(t, "enrollment", func() bool { return a.ID() != "" })
	ag, err := s.st.Agent(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	if ag.Hostname != "test-host" || ag.AssetID != fleet.AssetID(a.ID(), "host", "host") {
		t.Errorf("agent = %+v", ag)
	}
	eventually(t, "the snapshot", func() bool { return len(packageNames(t, s.st, ag.AssetID)) == 3 })
	if got := itemKeys(t, s.st, ag.AssetID, "process"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("processes %v", got)
	}

	// A changed host travels as a delta.
	f.set([]string{"openssl", "bash", "curl"}, []string{"2", "3"})
	a.Rescan()
	eventually(t, "the delta", func() bool {
		return slices.Equal(packageNames(t, s.st, ag.AssetID), []string{"bash", "curl", "openssl"}) &&
			slices.Equal(itemKeys(t, s.st, ag.AssetID, "process"), []string{"2", "3"})
	})
	s.mu.Lock()
	assessed := slices.Clone(s.assessed)
	s.mu.Unlock()
	if len(assessed) < 2 || assessed[0] != ag.AssetID {
		t.Errorf("assessments queued %v, want the host asset after each package change", assessed)
	}

	// Events arrive once each.
	var evs []*agentpb.Event
	for i := range 50 {
		evs = append(evs, &agentpb.Event{Kind: "process.exec", AssetId: "host", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if err := a.SendEvents(evs); err != nil {
		t.Fatal(err)
	}
	eventually(t, "events", func() bool {
		p, err := s.st.ListEvents(ctx, store.ListOptions{Filter: map[string]string{"agent_id": a.ID(), "kind": "process.exec"}, Limit: 1000})
		return err == nil && len(p.Items) == 50
	})
}

func TestEnrollRefused(t *testing.T) {
	s := newTestServer(t)
	pin := pki.Fingerprint(s.ca.Certificate())
	other, err := pki.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	used := s.token(1)
	first := newAgent(t, s, used, pin, &fakeHost{}, nil)
	run(t, first)
	eventually(t, "first enrollment", func() bool { return first.ID() != "" })
	tests := []struct {
		name, token, pin string
	}{
		{"wrong CA pin", s.token(1), pki.Fingerprint(other.Certificate())},
		{"forged token", auth.NewToken(auth.KindEnroll), pin},
		{"used-up token", used, pin},
		{"API token", auth.NewToken(auth.KindAPI), pin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAgent(t, s, tt.token, tt.pin, &fakeHost{}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := a.Run(ctx)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("Run = %v (ctx %v), want a permanent refusal", err, ctx.Err())
			}
			if a.ID() != "" {
				t.Errorf("agent has an identity %q", a.ID())
			}
		})
	}
	page, err := s.st.ListAgents(context.Background(), store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Errorf("%d agents enrolled, want 1", len(page.Items))
	}
}

// TestNoCertificateNoStream: the stream refuses a caller without a client
// certificate, and one with a certificate from another CA cannot connect.
func TestNoCertificateNoStream(t *testing.T) {
	s := newTestServer(t)
	pool := s.ca.Certificate()
	cfg := &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS13}
	cfg.RootCAs = x509Pool(pool)
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := agentpb.NewAgentClient(conn).Connect(context.Background())
	if err == nil {
		stream.Send(&agentpb.AgentMessage{Body: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{}}})
		_, err = stream.Recv()
	}
	if err == nil {
		t.Fatal("Connect without a client certificate succeeded")
	}
}

func TestPushConfig(t *testing.T) {
	s := newTestServer(t)
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), &fakeHost{}, nil)
	_, cancel := run(t, a)
	eventually(t, "connection", func() bool { return a.ID() != "" && s.fleet.Connected(a.ID()) })
	want := &agentpb.Config{HeartbeatSeconds: 7, InventorySeconds: 900, RenewPercent: 50}
	if err := s.fleet.PushConfig(context.Background(), a.ID(), want); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pushed configuration", func() bool { return proto.Equal(a.Config(), want) })
	// It is also what the agent gets on its next Welcome.
	cancel()
	b, _ := s.st.Agent(context.Background(), a.ID())
	if len(b.Config) == 0 {
		t.Error("pushed configuration not stored")
	}
}

func TestRevokedAgentIsCutOff(t *testing.T) {
	s := newTestServer(t)
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), &fakeHost{}, nil)
	done, _ := run(t, a)
	eventually(t, "connection", func() bool { return a.ID() != "" && s.fleet.Connected(a.ID()) })
	if err := s.fleet.Revoke(context.Background(), a.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after revocation")
		}
		done <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("revoked agent kept running")
	}
	if s.fleet.Connected(a.ID()) {
		t.Error("revoked agent still connected")
	}
}

func TestRenewKeepsIdentity(t *testing.T) {
	s := newTestServer(t)
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), &fakeHost{}, nil)
	_, cancel := run(t, a)
	eventually(t, "connection", func() bool { return a.ID() != "" && s.fleet.Connected(a.ID()) })
	ctx := context.Background()
	before, err := s.st.Agent(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.st.Agent(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	if after.CertSerial == before.CertSerial {
		t.Error("renewal did not record a new certificate")
	}
	cancel()
}

// TestReplayAfterOutage: messages spooled while the server is down all
// arrive, once, after it comes back.
func TestReplayAfterOutage(t *testing.T) {
	s := newTestServer(t)
	reg := prometheus.NewRegistry()
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), &fakeHost{}, func(o *agent.Options) { o.Registerer = reg })
	run(t, a)
	eventually(t, "connection", func() bool { return a.ID() != "" && s.fleet.Connected(a.ID()) })
	addr := s.addr
	s.stop()
	eventually(t, "disconnect", func() bool { return !s.fleet.Connected(a.ID()) })
	const n = 200
	for i := range n {
		if err := a.SendEvents([]*agentpb.Event{{Kind: "test", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}}); err != nil {
			t.Fatal(err)
		}
	}
	s.start(addr)
	ctx := context.Background()
	eventually(t, "replay", func() bool {
		p, err := s.st.ListEvents(ctx, store.ListOptions{Filter: map[string]string{"agent_id": a.ID(), "kind": "test"}, Limit: 1000})
		return err == nil && len(p.Items) >= n
	})
	p, err := s.st.ListEvents(ctx, store.ListOptions{Filter: map[string]string{"agent_id": a.ID(), "kind": "test"}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != n {
		t.Errorf("%d events stored, want exactly %d", len(p.Items), n)
	}
	// The counters are exported.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if got["vigil_agent_messages_replayed_total"] < n || got["vigil_agent_messages_spooled_total"] < n || got["vigil_agent_reconnects_total"] < 1 {
		t.Errorf("metrics %v: want ≥ %d replayed and spooled, ≥ 1 reconnect", got, n)
	}
	if _, ok := got["vigil_agent_messages_dropped_total"]; !ok {
		t.Error("no dropped counter")
	}
}

// TestSpoolFullCountsDrops: with the server away and a tiny spool, drops
// are counted and reported, never silent.
func TestSpoolFullCountsDrops(t *testing.T) {
	s := newTestServer(t)
	a := newAgent(t, s, s.token(1), pki.Fingerprint(s.ca.Certificate()), &fakeHost{}, func(o *agent.Options) { o.SpoolBytes = 64 << 10 })
	run(t, a)
	eventually(t, "connection", func() bool { return a.ID() != "" && s.fleet.Connected(a.ID()) })
	s.stop()
	eventually(t, "disconnect", func() bool { return !s.fleet.Connected(a.ID()) })
	big := make([]byte, 1000)
	for i := range big {
		big[i] = 'x'
	}
	dropped := 0
	for range 200 {
		err := a.SendEvents([]*agentpb.Event{{Kind: "big", Data: []byte(`"` + string(big) + `"`)}})
		if err != nil {
			dropped++
		}
	}
	if dropped == 0 {
		t.Fatal("no drops with a 64 KiB spool and 200 KB of events")
	}
	if got := a.Stats().GetDropped(); got != uint64(dropped) {
		t.Errorf("Stats().Dropped = %d, want %d", got, dropped)
	}
}

func x509Pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
