package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// conn is one agent's open stream. Only its send loop calls stream.Send.
type conn struct {
	agentID string
	out     chan *agentpb.ServerMessage
	done    chan struct{} // closed to end the stream (revocation, replacement)
	closed  atomic.Bool

	// Group commit: the receive loop takes a slot of inflight per numbered
	// message; the send loop gives it back when it sent the message's
	// acknowledgement, so acks (capacity maxInFlight) never blocks the
	// ingest loop.
	inflight chan struct{}
	acks     chan uint64
	lastSeq  atomic.Uint64 // highest sequence number known committed
	failed   atomic.Bool   // a message failed: the stream ends, later ones are not applied
	errc     chan error    // the first failure
}

func newConn(agentID string, lastSeq uint64) *conn {
	c := &conn{agentID: agentID, out: make(chan *agentpb.ServerMessage, 64), done: make(chan struct{}),
		inflight: make(chan struct{}, maxInFlight), acks: make(chan uint64, maxInFlight), errc: make(chan error, 1)}
	c.lastSeq.Store(lastSeq)
	return c
}

func (c *conn) close() {
	if c.closed.CompareAndSwap(false, true) {
		close(c.done)
	}
}

// ack queues the acknowledgement of a message holding an inflight slot.
func (c *conn) ack(seq uint64) { c.acks <- seq }

// committed notes that seq is committed.
func (c *conn) committed(seq uint64) {
	for {
		old := c.lastSeq.Load()
		if seq <= old || c.lastSeq.CompareAndSwap(old, seq) {
			return
		}
	}
}

// fail ends the stream with err (the first failure wins).
func (c *conn) fail(err error) {
	c.failed.Store(true)
	select {
	case c.errc <- err:
	default:
	}
}

// push queues a message for the agent without blocking the caller for
// long; a stream that does not drain is the agent's problem.
func (c *conn) push(ctx context.Context, m *agentpb.ServerMessage) error {
	select {
	case c.out <- m:
		return nil
	case <-c.done:
		return ErrNotConnected
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connect serves one agent's stream: Hello, then Welcome, then messages
// until either side goes away.
func (s *Service) Connect(stream agentpb.Agent_ConnectServer) error {
	ctx := stream.Context()
	a, _, err := s.identify(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "the first message must be Hello")
	}
	c := newConn(a.ID, a.LastSeq)
	s.attach(c)
	defer s.detach(c)
	s.o.Metrics.Connected.Inc()
	defer s.o.Metrics.Connected.Dec()

	lastSeq := a.LastSeq
	if err := stream.Send(&agentpb.ServerMessage{Body: &agentpb.ServerMessage_Welcome{Welcome: &agentpb.Welcome{
		AgentId: a.ID, LastSeq: lastSeq, Config: s.configFor(a)}}}); err != nil {
		return err
	}
	s.hear(a.ID, s.o.Now(), nil)
	s.o.Logger.Info("agent connected", "agent", a.ID, "version", hello.GetVersion(), "last_seq", lastSeq, "next_seq", hello.GetNextSeq())

	sendErr := make(chan error, 1)
	go func() { sendErr <- s.sendLoop(stream, c) }()
	recvErr := make(chan error, 1)
	go func() { recvErr <- s.recvLoop(ctx, stream, c) }()
	select {
	case err = <-recvErr:
		if errors.Is(err, io.EOF) {
			// The agent finished sending: acknowledge what it sent before
			// ending the stream.
			err = s.drain(c, sendErr)
		}
	case err = <-sendErr:
	case err = <-c.errc:
	case <-c.done:
		err = status.Error(codes.Aborted, "stream closed by the server")
	}
	c.close()
	return err
}

// drainTimeout bounds waiting for a closing stream's acknowledgements.
const drainTimeout = 30 * time.Second

// drain waits until every message the stream received is acknowledged
// (all of its inflight slots are free), it fails, or drainTimeout.
func (s *Service) drain(c *conn, sendErr <-chan error) error {
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	for range maxInFlight {
		select {
		case c.inflight <- struct{}{}:
		case err := <-sendErr:
			return err
		case err := <-c.errc:
			return err
		case <-c.done:
			return status.Error(codes.Aborted, "stream closed by the server")
		case <-t.C:
			return nil
		}
	}
	return nil
}

func (s *Service) sendLoop(stream agentpb.Agent_ConnectServer, c *conn) error {
	for {
		select {
		case m := <-c.out:
			if err := stream.Send(m); err != nil {
				return err
			}
		case seq := <-c.acks:
			if err := stream.Send(ack(seq)); err != nil {
				return err
			}
			<-c.inflight
		case <-c.done:
			return nil
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

func (s *Service) recvLoop(ctx context.Context, stream agentpb.Agent_ConnectServer, c *conn) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		if err := s.handle(ctx, c, m); err != nil {
			return err
		}
	}
}

// handle takes one message. Every message counts as hearing from the
// agent; numbered messages go to the agent's ingest loop, which commits,
// then acknowledges them; a replay of a committed message is acknowledged
// again at once.
func (s *Service) handle(ctx context.Context, c *conn, m *agentpb.AgentMessage) error {
	now := s.o.Now()
	switch b := m.GetBody().(type) {
	case *agentpb.AgentMessage_Heartbeat:
		s.o.Metrics.Messages.WithLabelValues("heartbeat").Inc()
		stats, _ := protojson.Marshal(b.Heartbeat.GetStats()) // camelCase, like every Vigil format
		s.hear(c.agentID, now, stats)
		return nil
	case *agentpb.AgentMessage_Hello:
		return status.Error(codes.InvalidArgument, "Hello sent twice")
	}
	s.hear(c.agentID, now, nil)
	seq := m.GetSeq()
	if seq == 0 {
		return status.Error(codes.InvalidArgument, "a numbered message needs seq > 0")
	}
	kind := messageKind(m)
	s.o.Metrics.Messages.WithLabelValues(kind).Inc()
	// A slot of the stream's window; the send loop frees it with the ack.
	select {
	case c.inflight <- struct{}{}:
	case <-c.done:
		return status.Error(codes.Aborted, "stream closed by the server")
	case <-ctx.Done():
		return ctx.Err()
	}
	if seq <= c.lastSeq.Load() {
		s.o.Metrics.Duplicates.Inc()
		c.ack(seq)
		return nil
	}
	s.enqueue(c, m, now)
	return nil
}

// badMessage is an agent message the server refuses; the stream ends
// with InvalidArgument and nothing of it is stored.
type badMessage struct{ msg string }

func (b badMessage) Error() string { return b.msg }

// Bounds on one message's content.
const (
	maxAssetsPerMessage = 10_000
	maxEventsPerMessage = 10_000
)

// apply writes one numbered message and returns the assets whose packages
// changed.
func (s *Service) apply(ctx context.Context, in store.Ingester, agentID string, m *agentpb.AgentMessage, now time.Time) ([]string, error) {
	switch b := m.GetBody().(type) {
	case *agentpb.AgentMessage_Inventory:
		return s.applyInventory(ctx, in, agentID, b.Inventory, now)
	case *agentpb.AgentMessage_Events:
		evs := b.Events.GetEvents()
		if len(evs) > maxEventsPerMessage {
			return nil, badMessage{fmt.Sprintf("%d events in one message, at most %d", len(evs), maxEventsPerMessage)}
		}
		out := make([]store.Event, 0, len(evs))
		for _, e := range evs {
			t := now
			if e.GetTime() != nil {
				t = e.GetTime().AsTime()
			}
			var asset string
			if e.GetAssetId() != "" {
				asset = AssetID(agentID, assetKindOf(e.GetAssetId()), e.GetAssetId())
			}
			data := e.GetData()
			if len(data) > 0 && !json.Valid(data) {
				return nil, badMessage{"event data is not JSON"}
			}
			out = append(out, store.Event{AgentID: agentID, AssetID: asset, Seq: m.GetSeq(), Time: t,
				Kind: clip(e.GetKind(), 64), Severity: clip(e.GetSeverity(), 16), Data: data})
		}
		s.o.Metrics.Events.Add(float64(len(out)))
		return nil, in.AddEvents(ctx, out)
	case *agentpb.AgentMessage_TaskResult:
		data, _ := json.Marshal(map[string]string{"task": b.TaskResult.GetTaskId(), "error": b.TaskResult.GetError()})
		return nil, in.AddEvents(ctx, []store.Event{{AgentID: agentID, Seq: m.GetSeq(), Time: now, Kind: "agent.task", Data: data}})
	}
	return nil, badMessage{"unknown message body"}
}

// assetKindOf reads the kind prefix of an agent-side asset ID
// ("container:<id>", "image:sha256:…", "host").
func assetKindOf(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] == ':' {
			return id[:i]
		}
	}
	return id
}

func (s *Service) applyInventory(ctx context.Context, in store.Ingester, agentID string, inv *agentpb.Inventory, now time.Time) ([]string, error) {
	if len(inv.GetAssets()) > maxAssetsPerMessage {
		return nil, badMessage{fmt.Sprintf("%d assets in one message, at most %d", len(inv.GetAssets()), maxAssetsPerMessage)}
	}
	var changed []string
	live := map[string][]string{}
	for _, r := range inv.GetAssets() {
		kind := r.GetKind()
		switch kind {
		case store.AssetHost, store.AssetContainer, store.AssetImage:
		default:
			return nil, badMessage{fmt.Sprintf("unknown asset kind %q", kind)}
		}
		id := AssetID(agentID, kind, r.GetId())
		live[kind] = append(live[kind], id)
		attrs := r.GetAttrs()
		if len(attrs) > 0 && !json.Valid(attrs) {
			return nil, badMessage{"asset attrs are not JSON"}
		}
		var parent string
		if r.GetParentId() != "" {
			parent = AssetID(agentID, assetKindOf(r.GetParentId()), r.GetParentId())
		}
		if name := clip(r.GetLabels()["cluster"], 253); kind == store.AssetHost && name != "" {
			// A node of a cluster (vigil-agent --label cluster=NAME, set by
			// the Helm chart): the cluster is an asset of its own, shared by
			// its nodes' agents, with the nodes under it. An agent asserts
			// only its own host's membership; the cluster carries nothing
			// else an agent could make up.
			labels := map[string]string{"cluster": name}
			if env := r.GetLabels()["environment"]; env != "" {
				labels["environment"] = clip(env, 253)
			}
			parent = ClusterID(name)
			if err := in.UpsertAsset(ctx, store.Asset{
				ID: parent, Kind: store.AssetCluster, Name: name, Cloud: clip(r.GetCloud(), 32),
				Region: clip(r.GetRegion(), 64), Labels: labels, FirstSeen: now, LastSeen: now,
			}); err != nil {
				return nil, err
			}
		}
		if err := in.UpsertAsset(ctx, store.Asset{
			ID: id, Kind: kind, Name: clip(r.GetName(), 512), AgentID: agentID, ParentID: parent,
			OS: clip(r.GetOs(), 128), Platform: clip(r.GetPlatform(), 64), Cloud: clip(r.GetCloud(), 32),
			Region: clip(r.GetRegion(), 64), Labels: r.GetLabels(), Attrs: attrs, FirstSeen: now, LastSeen: now,
		}); err != nil {
			return nil, err
		}
		pkgs := make([]store.Package, 0, len(r.GetPackages()))
		for _, p := range r.GetPackages() {
			if len(p.GetData()) > 0 && !json.Valid(p.GetData()) {
				return nil, badMessage{"package data is not JSON"}
			}
			pkgs = append(pkgs, store.Package{AssetID: id, ID: p.GetId(), Name: p.GetName(), Version: p.GetVersion(),
				Ecosystem: p.GetEcosystem(), PURL: p.GetPurl(), Data: p.GetData()})
		}
		switch {
		case r.GetPackagesFull():
			if err := in.ReplacePackages(ctx, id, pkgs); err != nil {
				return nil, err
			}
			changed = append(changed, id)
		case len(pkgs) > 0 || len(r.GetRemovedPackages()) > 0:
			if err := in.PatchPackages(ctx, id, pkgs, r.GetRemovedPackages()); err != nil {
				return nil, err
			}
			changed = append(changed, id)
		}
		items := make([]store.Item, 0, len(r.GetItems()))
		for _, it := range r.GetItems() {
			if !json.Valid(it.GetData()) {
				return nil, badMessage{"item data is not JSON"}
			}
			items = append(items, store.Item{AssetID: id, Kind: it.GetKind(), Key: it.GetKey(), Data: it.GetData()})
		}
		full := map[string]bool{}
		for _, k := range r.GetItemKinds() {
			full[k] = true
		}
		var replace, patch []store.Item
		for _, it := range items {
			if full[it.Kind] {
				replace = append(replace, it)
			} else {
				patch = append(patch, it)
			}
		}
		if len(full) > 0 {
			if err := in.ReplaceItems(ctx, id, r.GetItemKinds(), replace); err != nil {
				return nil, err
			}
		}
		var removed []store.Item
		for _, k := range r.GetRemovedItems() {
			removed = append(removed, store.Item{AssetID: id, Kind: k.GetKind(), Key: k.GetKey()})
		}
		if len(patch) > 0 || len(removed) > 0 {
			if err := in.PatchItems(ctx, id, patch, removed); err != nil {
				return nil, err
			}
		}
	}
	for _, kind := range inv.GetFullKinds() {
		if kind == store.AssetHost {
			continue // an agent's host is never gone while it reports
		}
		if err := in.MarkGone(ctx, agentID, kind, live[kind]); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

func messageKind(m *agentpb.AgentMessage) string {
	switch m.GetBody().(type) {
	case *agentpb.AgentMessage_Inventory:
		return "inventory"
	case *agentpb.AgentMessage_Events:
		return "events"
	case *agentpb.AgentMessage_TaskResult:
		return "task_result"
	}
	return "unknown"
}

func ack(seq uint64) *agentpb.ServerMessage {
	return &agentpb.ServerMessage{Body: &agentpb.ServerMessage_Ack{Ack: &agentpb.Ack{Seq: seq}}}
}

// attach makes c the agent's current stream, ending any previous one (an
// agent reconnecting before the server noticed the old stream died).
func (s *Service) attach(c *conn) {
	s.mu.Lock()
	old := s.conns[c.agentID]
	s.conns[c.agentID] = c
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
}

func (s *Service) detach(c *conn) {
	s.mu.Lock()
	if s.conns[c.agentID] == c {
		delete(s.conns, c.agentID)
	}
	s.mu.Unlock()
}

func (s *Service) conn(agentID string) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[agentID]
}

var taskSeq atomic.Uint64

// Rescan asks a connected agent to collect its inventory now.
func (s *Service) Rescan(ctx context.Context, agentID string) error {
	c := s.conn(agentID)
	if c == nil {
		return ErrNotConnected
	}
	id := "task-" + strconv.FormatUint(taskSeq.Add(1), 10)
	return c.push(ctx, &agentpb.ServerMessage{Body: &agentpb.ServerMessage_Task{Task: &agentpb.Task{Id: id, Kind: "rescan"}}})
}

// Revoke revokes the agent and its certificates in the store and ends its
// stream; it can no longer connect or renew.
func (s *Service) Revoke(ctx context.Context, agentID string) error {
	if err := s.o.Store.RevokeAgent(ctx, agentID, s.o.Now()); err != nil {
		return err
	}
	if c := s.conn(agentID); c != nil {
		c.close()
	}
	return nil
}

// configFor is the agent's own configuration (PushConfig) when it has
// one, else the server's default.
func (s *Service) configFor(a store.Agent) *agentpb.Config {
	if len(a.Config) > 0 {
		var c agentpb.Config
		if err := protojson.Unmarshal(a.Config, &c); err == nil {
			return &c
		}
	}
	return s.o.Config
}

// PushConfig stores an agent's configuration and sends it at once when the
// agent is connected (otherwise on its next Welcome).
func (s *Service) PushConfig(ctx context.Context, agentID string, c *agentpb.Config) error {
	b, err := protojson.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.o.Store.SetAgentConfig(ctx, agentID, b); err != nil {
		return err
	}
	if cn := s.conn(agentID); cn != nil {
		return cn.push(ctx, &agentpb.ServerMessage{Body: &agentpb.ServerMessage_Config{Config: c}})
	}
	return nil
}

// Connected reports whether the agent has an open stream.
func (s *Service) Connected(agentID string) bool { return s.conn(agentID) != nil }

// Watch marks agents silent for longer than twice their heartbeat and
// records an agent.silent event for each, every interval until ctx ends.
func (s *Service) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.CheckSilent(ctx)
		}
	}
}

// CheckSilent runs one watchdog pass: it writes the liveness heard since
// the last pass (FlushLiveness), then marks silent the agents whose last
// message is older than twice their heartbeat. The store's LastSeen is
// then at least as recent as what was heard before the pass began, so
// however slow the store, an agent heard in time is not called silent.
func (s *Service) CheckSilent(ctx context.Context) {
	now := s.o.Now()
	if err := s.FlushLiveness(ctx); err != nil {
		s.o.Logger.Error("watchdog", "err", err)
		return // LastSeen in the store may be stale: no verdict this pass
	}
	silent, err := s.o.Store.SilentAgents(ctx, now)
	if err != nil {
		s.o.Logger.Error("watchdog", "err", err)
		return
	}
	var evs []store.Event
	for _, a := range silent {
		if t, ok := s.lastHeard(a.ID); ok && a.Heartbeat > 0 && now.Sub(t) <= 2*a.Heartbeat {
			s.markHeard(a.ID) // heard meanwhile: the next flush clears Silent
			continue
		}
		s.o.Metrics.Silent.Inc()
		s.o.Logger.Warn("agent silent", "agent", a.ID, "hostname", a.Hostname, "last_seen", a.LastSeen)
		data, _ := json.Marshal(map[string]any{"hostname": a.Hostname, "lastSeen": a.LastSeen, "heartbeat": a.Heartbeat.String()})
		evs = append(evs, store.Event{AgentID: a.ID, AssetID: a.AssetID, Time: now, Kind: "agent.silent", Severity: "high", Data: data})
	}
	if len(evs) > 0 {
		if err := s.o.Store.AddEvents(ctx, evs); err != nil {
			s.o.Logger.Error("watchdog: events", "err", err)
		} else if s.o.OnEvents != nil {
			s.o.OnEvents(evs)
		}
	}
}
