package fleet_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/fleet"
	"github.com/vigil-sec/vigil/internal/pki"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// fakeStream is one agent's Connect stream, in process.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
	in  chan *agentpb.AgentMessage
	out chan *agentpb.ServerMessage
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) Recv() (*agentpb.AgentMessage, error) {
	select {
	case m, ok := <-f.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-f.ctx.Done():
		return nil, f.ctx.Err()
	}
}

func (f *fakeStream) Send(m *agentpb.ServerMessage) error {
	select {
	case f.out <- m:
		return nil
	case <-f.ctx.Done():
		return f.ctx.Err()
	}
}

// slowStore delays every write that ingest and liveness make, and counts
// the ingest transactions.
type slowStore struct {
	store.Store
	delay    time.Duration
	batches  atomic.Int64
	messages atomic.Int64
}

func (s *slowStore) IngestBatch(ctx context.Context, msgs []store.IngestMessage) ([]store.IngestResult, error) {
	s.batches.Add(1)
	s.messages.Add(int64(len(msgs)))
	time.Sleep(s.delay)
	return s.Store.IngestBatch(ctx, msgs)
}

func (s *slowStore) AgentsSeen(ctx context.Context, seen []store.AgentSeen) error {
	time.Sleep(s.delay)
	return s.Store.AgentsSeen(ctx, seen)
}

func (s *slowStore) AgentHeartbeat(ctx context.Context, id string, seen time.Time, stats json.RawMessage) error {
	time.Sleep(s.delay)
	return s.Store.AgentHeartbeat(ctx, id, seen, stats)
}

// testFleet enrolls n agents (heartbeat hb) into a fresh store behind a
// slowStore and returns the service and, per agent, a context carrying
// its verified client certificate.
func testFleet(t *testing.T, n int, hb, delay time.Duration) (*fleet.Service, *slowStore, []string, []context.Context) {
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
	slow := &slowStore{Store: st, delay: delay}
	s := fleet.New(fleet.Options{Store: slow, Signer: ca})
	t.Cleanup(func() { s.Close(context.Background()) })
	var ids []string
	var ctxs []context.Context
	for i := range n {
		id := fmt.Sprintf("agt-%04d", i)
		_, csr, err := pki.NewAgentKey()
		if err != nil {
			t.Fatal(err)
		}
		der, serial, notAfter, err := ca.SignAgent(csr, id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateAgent(ctx, store.Agent{ID: id, Hostname: id, AssetID: fleet.AssetID(id, "host", "host"),
			Heartbeat: hb, CertSerial: serial, CertNotAfter: notAfter}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		ctxs = append(ctxs, peer.NewContext(ctx, &peer.Peer{AuthInfo: credentials.TLSInfo{
			State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}}))
	}
	return s, slow, ids, ctxs
}

// session runs Connect for one agent; it returns the stream and a
// channel with Connect's result.
func session(t *testing.T, s *fleet.Service, ctx context.Context) (*fakeStream, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	f := &fakeStream{ctx: ctx, in: make(chan *agentpb.AgentMessage, 64), out: make(chan *agentpb.ServerMessage, 256)}
	done := make(chan error, 1)
	go func() { done <- s.Connect(f) }()
	f.in <- &agentpb.AgentMessage{Body: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{Version: "test", NextSeq: 1}}}
	select {
	case m := <-f.out:
		if m.GetWelcome() == nil {
			t.Fatalf("first server message %v, want Welcome", m)
		}
	case err := <-done:
		t.Fatalf("Connect: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no Welcome")
	}
	return f, done
}

func events(seq uint64, n int) *agentpb.AgentMessage {
	evs := make([]*agentpb.Event, n)
	for i := range evs {
		evs[i] = &agentpb.Event{Kind: "process.exec", Severity: "low", Data: []byte(fmt.Sprintf(`{"seq":%d,"i":%d}`, seq, i))}
	}
	return &agentpb.AgentMessage{Seq: seq, Body: &agentpb.AgentMessage_Events{Events: &agentpb.Events{Events: evs}}}
}

// acksUpTo reads acknowledgements until seq is acknowledged.
func acksUpTo(t *testing.T, f *fakeStream, seq uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	var last uint64
	for last < seq {
		select {
		case m := <-f.out:
			if a := m.GetAck(); a != nil {
				if a.GetSeq() < last {
					t.Errorf("ack %d after %d", a.GetSeq(), last)
				}
				last = a.GetSeq()
			}
		case <-deadline:
			t.Fatalf("acknowledged up to %d, want %d", last, seq)
		}
	}
}

// TestGroupCommit: many agents' messages are committed in few
// transactions, each acknowledged in order after its commit, and replays
// on a new stream are acknowledged without being applied again.
func TestGroupCommit(t *testing.T) {
	const agents, msgs, per = 20, 10, 5
	s, slow, ids, ctxs := testFleet(t, agents, 30*time.Second, 20*time.Millisecond)
	streams := make([]*fakeStream, agents)
	for i := range agents {
		streams[i], _ = session(t, s, ctxs[i])
	}
	var wg sync.WaitGroup
	for i := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(1); seq <= msgs; seq++ {
				streams[i].in <- events(seq, per)
			}
			acksUpTo(t, streams[i], msgs, 30*time.Second)
		}()
	}
	wg.Wait()
	if b, m := slow.batches.Load(), slow.messages.Load(); m != agents*msgs || b > m/4 {
		t.Errorf("%d messages in %d transactions, want %d in at most a quarter as many", m, b, agents*msgs)
	} else {
		t.Logf("%d messages in %d transactions", m, b)
	}
	ctx := context.Background()
	for _, id := range ids {
		a, err := slow.Agent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.LastSeq != msgs {
			t.Errorf("%s LastSeq %d, want %d", id, a.LastSeq, msgs)
		}
	}
	// Agent 0 reconnects and replays everything, then sends one more.
	f, _ := session(t, s, ctxs[0])
	for seq := uint64(1); seq <= msgs+1; seq++ {
		f.in <- events(seq, per)
	}
	acksUpTo(t, f, msgs+1, 30*time.Second)
	// Agent 1 sends two more and closes its side: both are acknowledged
	// before the stream ends, without an error.
	f, done := session(t, s, ctxs[1])
	f.in <- events(msgs+1, per)
	f.in <- events(msgs+2, per)
	close(f.in)
	acksUpTo(t, f, msgs+2, 30*time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stream closed by the agent ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("stream did not end after the agent closed it")
	}
	p, err := slow.ListEvents(ctx, store.ListOptions{Limit: 1000, Filter: map[string]string{"agent_id": ids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != (msgs+1)*per {
		t.Errorf("%d events of %s, want %d (replays applied once)", len(p.Items), ids[0], (msgs+1)*per)
	}
}

// TestSlowStoreNoFalseSilence: with every ingest and liveness write taking
// longer than twice the heartbeat, agents that keep sending heartbeats
// and events are never called silent; an agent that stops is.
func TestSlowStoreNoFalseSilence(t *testing.T) {
	const agents = 5
	hb := 300 * time.Millisecond
	s, slow, ids, ctxs := testFleet(t, agents+1, hb, 2*hb+200*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range agents {
		f, _ := session(t, s, ctxs[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			go func() { // the agent reads its acks
				for {
					select {
					case <-f.out:
					case <-ctx.Done():
						return
					}
				}
			}()
			tick := time.NewTicker(hb / 3)
			defer tick.Stop()
			for seq := uint64(1); ; seq++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				select {
				case f.in <- events(seq, 2):
				case <-ctx.Done():
					return
				}
				select {
				case f.in <- &agentpb.AgentMessage{Body: &agentpb.AgentMessage_Heartbeat{Heartbeat: &agentpb.Heartbeat{}}}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	// The last agent connects once and then says nothing.
	session(t, s, ctxs[agents])
	for range 5 {
		time.Sleep(hb)
		s.CheckSilent(ctx)
	}
	cancel()
	wg.Wait()
	p, err := slow.ListEvents(context.Background(), store.ListOptions{Filter: map[string]string{"kind": "agent.silent"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].AgentID != ids[agents] {
		var who []string
		for _, e := range p.Items {
			who = append(who, e.AgentID)
		}
		t.Errorf("agent.silent for %v, want only the quiet %s", who, ids[agents])
	}
}

// TestClusterAsset: hosts labelled cluster=NAME by their agents make one
// cluster asset, shared, with the hosts under it; a host without the label
// has no parent.
func TestClusterAsset(t *testing.T) {
	s, st, ids, ctxs := testFleet(t, 3, 30*time.Second, 0)
	inv := func(labels map[string]string) *agentpb.AgentMessage {
		return &agentpb.AgentMessage{Seq: 1, Body: &agentpb.AgentMessage_Inventory{Inventory: &agentpb.Inventory{
			FullKinds: []string{"host"},
			Assets:    []*agentpb.AssetRecord{{Id: "host", Kind: "host", Name: "node", Cloud: "aws", Region: "eu-west-1", Labels: labels}},
		}}}
	}
	for i, labels := range []map[string]string{
		{"cluster": "prod-eu", "environment": "production"},
		{"cluster": "prod-eu", "environment": "production"},
		{"environment": "staging"},
	} {
		f, _ := session(t, s, ctxs[i])
		f.in <- inv(labels)
		acksUpTo(t, f, 1, 30*time.Second)
	}
	ctx := context.Background()
	clusters, err := st.ListAssets(ctx, store.ListOptions{Limit: 10, Filter: map[string]string{"kind": "cluster"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(clusters.Items) != 1 {
		t.Fatalf("%d cluster assets, want 1: %+v", len(clusters.Items), clusters.Items)
	}
	c := clusters.Items[0]
	if c.ID != fleet.ClusterID("prod-eu") || c.Name != "prod-eu" || c.AgentID != "" || c.Cloud != "aws" || c.Labels["cluster"] != "prod-eu" {
		t.Errorf("cluster asset %+v", c)
	}
	nodes, err := st.ListAssets(ctx, store.ListOptions{Limit: 10, Filter: map[string]string{"parent_id": c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 2 {
		t.Errorf("%d nodes under the cluster, want 2", len(nodes.Items))
	}
	lone, err := st.Asset(ctx, fleet.AssetID(ids[2], "host", "host"))
	if err != nil {
		t.Fatal(err)
	}
	if lone.ParentID != "" {
		t.Errorf("host without a cluster label has parent %q", lone.ParentID)
	}
	env, err := st.ListAssets(ctx, store.ListOptions{Limit: 10, Filter: map[string]string{"environment": "production"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Items) != 3 { // the two nodes and their cluster
		t.Errorf("%d assets in production, want 3 (two nodes and their cluster)", len(env.Items))
	}
}
