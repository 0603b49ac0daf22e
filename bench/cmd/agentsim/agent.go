package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/pki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// One simulated agent: its own key, certificate, TLS connection and
// stream, speaking the protocol as vigil-agent does — Hello, Welcome,
// numbered messages kept until acknowledged and sent again after a
// reconnect (in memory: the simulator has no spool), heartbeats.

type msgKind int

const (
	kindSnapshot msgKind = iota
	kindDelta
	kindEvents
	kindTask
)

// Snapshot states.
const (
	snapNone int32 = iota
	snapSent
	snapAcked
)

type pending struct {
	seq    uint64
	msg    *agentpb.AgentMessage
	kind   msgKind
	events int
	sent   time.Time
}

type simAgent struct {
	s   *sim
	idx int
	h   *host

	id   string
	tls  *tls.Config
	conn *grpc.ClientConn

	mu         sync.Mutex
	nextSeq    uint64
	pending    []*pending
	nextDelta  time.Time
	hbEvery    atomic.Int64 // time.Duration
	snap       atomic.Int32
	connected  atomic.Bool
	everServed bool // had one Welcome

	ackSig chan struct{}
	events chan int    // batches to send, from the dispatcher
	tasks  chan string // task ids to answer
}

func newSimAgent(s *sim, idx int) *simAgent {
	a := &simAgent{s: s, idx: idx, nextSeq: 1, ackSig: make(chan struct{}, 1), events: make(chan int, 1), tasks: make(chan string, 4)}
	a.h = newHost(&s.cfg.shape, idx)
	a.hbEvery.Store(int64(30 * time.Second))
	if s.cfg.heartbeat > 0 {
		a.hbEvery.Store(int64(s.cfg.heartbeat))
	}
	return a
}

// enroll gets the agent a certificate with the enrollment token over a
// connection of its own, pinning the CA as vigil-agent does.
func (a *simAgent) enroll(ctx context.Context, token string) error {
	key, csr, err := pki.NewAgentKey()
	if err != nil {
		return err
	}
	pin := strings.TrimPrefix(strings.ToLower(a.s.cfg.caPin), "sha256:")
	var pinErr error
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pin check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			pinErr = pki.VerifyPinned(raw, pin)
			return pinErr
		},
	}
	conn, err := grpc.NewClient(a.s.cfg.agentAddr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := agentpb.NewAgentClient(conn).Enroll(cctx, &agentpb.EnrollRequest{
		Token: token, Csr: csr, Hostname: a.h.hostname, MachineId: fmt.Sprintf("%032x", a.idx), Version: "agentsim",
	})
	if err != nil {
		if pinErr != nil {
			return fmt.Errorf("CA pin: %w", pinErr)
		}
		return err
	}
	ca, err := pki.DecodeCertPEM(resp.GetCaCertificate())
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(ca.Raw); hex.EncodeToString(sum[:]) != pin {
		return errors.New("the server sent a CA other than the pinned one")
	}
	a.tls, err = pki.ClientTLS(resp.GetCaCertificate(), resp.GetCertificate(), key)
	if err != nil {
		return err
	}
	if a.s.cfg.serverName != "" {
		a.tls.ServerName = a.s.cfg.serverName
	}
	a.id = resp.GetAgentId()
	if c := resp.GetConfig(); c.GetHeartbeatSeconds() > 0 && a.s.cfg.heartbeat == 0 {
		a.hbEvery.Store(int64(time.Duration(c.GetHeartbeatSeconds()) * time.Second))
	}
	return nil
}

// dial makes the agent's one connection. Buffers are small (the agent
// mostly writes, in bursts) and the write buffer is released between
// writes, so 10,000 idle connections cost little memory in the simulator.
func (a *simAgent) dial() error {
	var err error
	a.conn, err = grpc.NewClient(a.s.cfg.agentAddr,
		grpc.WithTransportCredentials(credentials.NewTLS(a.tls)),
		grpc.WithReadBufferSize(4<<10),
		grpc.WithWriteBufferSize(16<<10),
		grpc.WithSharedWriteBuffer(true),
		grpc.WithInitialWindowSize(64<<10),
		grpc.WithInitialConnWindowSize(64<<10),
		// vigil-agent's keepalive.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)),
	)
	return err
}

// run keeps the agent connected until ctx ends.
func (a *simAgent) run(ctx context.Context, firstSlot chan struct{}) {
	if err := a.dial(); err != nil {
		a.s.errs.add("dial", err)
		return
	}
	defer a.conn.Close()
	backoff := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := a.session(ctx, firstSlot)
		firstSlot = nil
		if ctx.Err() != nil {
			return
		}
		a.s.reconnects.Add(1)
		a.s.errs.add("stream "+status.Code(err).String(), err)
		if time.Since(start) > 2*time.Minute {
			backoff = time.Second
		}
		d := backoff/2 + rand.N(backoff/2)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// session runs one stream. firstSlot, when not nil, bounds how many
// agents open their first stream at once (the ramp); it is released once
// Welcome arrives.
func (a *simAgent) session(ctx context.Context, firstSlot chan struct{}) error {
	if firstSlot != nil {
		select {
		case firstSlot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		released := false
		release := func() {
			if !released {
				released = true
				<-firstSlot
			}
		}
		defer release()
		return a.stream(ctx, release)
	}
	return a.stream(ctx, func() {})
}

func (a *simAgent) stream(ctx context.Context, welcomed func()) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	stream, err := agentpb.NewAgentClient(a.conn).Connect(sctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	next := a.nextSeq
	a.mu.Unlock()
	if err := stream.Send(&agentpb.AgentMessage{Time: timestamppb.Now(), Body: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{
		Version: "agentsim", Hostname: a.h.hostname, NextSeq: next}}}); err != nil {
		_, err = stream.Recv()
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	w := first.GetWelcome()
	if w == nil {
		return errors.New("the server did not answer Hello with Welcome")
	}
	if c := w.GetConfig(); c.GetHeartbeatSeconds() > 0 && a.s.cfg.heartbeat == 0 {
		a.hbEvery.Store(int64(time.Duration(c.GetHeartbeatSeconds()) * time.Second))
	}
	if c := w.GetConfig(); c.GetInventorySeconds() > 0 && a.s.cfg.deltaEvery == 0 {
		a.s.serverInventory.Store(int64(time.Duration(c.GetInventorySeconds()) * time.Second))
	}
	if !a.everServed {
		a.everServed = true
		a.s.connectLat.add(time.Since(t0))
	}
	welcomed()
	a.acked(w.GetLastSeq(), true)
	a.connected.Store(true)
	a.s.connected.Add(1)
	defer func() { a.connected.Store(false); a.s.connected.Add(-1) }()

	recvErr := make(chan error, 1)
	go func() { recvErr <- a.receive(stream) }()

	// Everything not acknowledged goes again, in order.
	a.mu.Lock()
	resend := append([]*pending(nil), a.pending...)
	a.mu.Unlock()
	for _, p := range resend {
		a.mu.Lock()
		p.sent = time.Now()
		a.mu.Unlock()
		if err := stream.Send(p.msg); err != nil {
			return waitErr(recvErr, err)
		}
		a.s.resent.Add(1)
	}

	hbEvery := time.Duration(a.hbEvery.Load())
	first0 := hbEvery
	if a.s.cfg.spreadHeartbeats {
		first0 = rand.N(hbEvery) + 1 // spread the fleet's heartbeats over the interval
	}
	hb := time.NewTimer(first0)
	defer hb.Stop()
	dt := time.NewTimer(time.Hour)
	dt.Stop()
	defer dt.Stop()
	deltaArmed := false
	for {
		var snapC chan struct{}
		if a.snap.Load() == snapNone {
			snapC = a.s.snapSem
		}
		evC := a.events
		a.mu.Lock()
		full := len(a.pending) >= a.s.cfg.window
		if !deltaArmed && a.snap.Load() == snapAcked && a.s.deltasOn.Load() {
			every := a.s.deltaEvery()
			if a.nextDelta.IsZero() {
				a.nextDelta = time.Now().Add(rand.N(every) + 1)
			}
			dt.Reset(time.Until(a.nextDelta))
			deltaArmed = true
		}
		a.mu.Unlock()
		if full {
			evC = nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			return err
		case <-a.ackSig:
		case snapC <- struct{}{}:
			inv := a.h.snapshot(a.s.pkgs)
			a.s.noteSnapshot(inv)
			a.snap.Store(snapSent)
			if err := a.push(stream, kindSnapshot, &agentpb.AgentMessage{Body: &agentpb.AgentMessage_Inventory{Inventory: inv}}, 0); err != nil {
				return waitErr(recvErr, err)
			}
		case <-hb.C:
			t := time.Now()
			err := stream.Send(&agentpb.AgentMessage{Time: timestamppb.New(t), Body: &agentpb.AgentMessage_Heartbeat{Heartbeat: &agentpb.Heartbeat{
				Stats: &agentpb.Stats{CpuSeconds: 0.5, RssBytes: 30 << 20}}}})
			if err != nil {
				return waitErr(recvErr, err)
			}
			a.s.heartbeats.Add(1)
			if a.s.measuring.Load() {
				a.s.hbWindow.Add(1)
				a.s.hbSendLat.add(time.Since(t))
			}
			hb.Reset(time.Duration(a.hbEvery.Load()))
		case <-dt.C:
			deltaArmed = false
			every := a.s.deltaEvery()
			a.mu.Lock()
			a.nextDelta = a.nextDelta.Add(every)
			if a.nextDelta.Before(time.Now()) {
				a.nextDelta = time.Now().Add(every)
			}
			a.mu.Unlock()
			if full {
				a.s.deltasSkipped.Add(1)
				continue
			}
			inv, _ := a.h.delta(&a.s.cfg.shape, a.s.pkgs)
			if err := a.push(stream, kindDelta, &agentpb.AgentMessage{Body: &agentpb.AgentMessage_Inventory{Inventory: inv}}, 0); err != nil {
				return waitErr(recvErr, err)
			}
		case n := <-evC:
			evs := a.h.events(n, time.Now(), a.s.cfg.shape.eventBytes)
			if err := a.push(stream, kindEvents, &agentpb.AgentMessage{Body: &agentpb.AgentMessage_Events{Events: &agentpb.Events{Events: evs}}}, n); err != nil {
				return waitErr(recvErr, err)
			}
		case id := <-a.tasks:
			if err := a.push(stream, kindTask, &agentpb.AgentMessage{Body: &agentpb.AgentMessage_TaskResult{TaskResult: &agentpb.TaskResult{TaskId: id}}}, 0); err != nil {
				return waitErr(recvErr, err)
			}
		}
	}
}

// waitErr returns the stream's status after a failed Send (the reason is
// only in Recv's error).
func waitErr(recvErr chan error, sendErr error) error {
	select {
	case err := <-recvErr:
		return err
	case <-time.After(10 * time.Second):
		return sendErr
	}
}

// push numbers a message, keeps it until acknowledged, and sends it.
func (a *simAgent) push(stream agentpb.Agent_ConnectClient, kind msgKind, m *agentpb.AgentMessage, events int) error {
	now := time.Now()
	a.mu.Lock()
	m.Seq = a.nextSeq
	a.nextSeq++
	m.Time = timestamppb.New(now)
	a.pending = append(a.pending, &pending{seq: m.Seq, msg: m, kind: kind, events: events, sent: now})
	a.mu.Unlock()
	a.s.sent.Add(1)
	return stream.Send(m)
}

func (a *simAgent) receive(stream agentpb.Agent_ConnectClient) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		switch b := m.GetBody().(type) {
		case *agentpb.ServerMessage_Ack:
			a.acked(b.Ack.GetSeq(), false)
		case *agentpb.ServerMessage_Config:
			if hb := b.Config.GetHeartbeatSeconds(); hb > 0 && a.s.cfg.heartbeat == 0 {
				a.hbEvery.Store(int64(time.Duration(hb) * time.Second))
			}
		case *agentpb.ServerMessage_Task:
			select {
			case a.tasks <- b.Task.GetId():
			default:
			}
		}
	}
}

// acked drops every pending message up to seq. welcome marks the
// server's last committed seq given on Welcome (no latency to record; a
// server ahead of the agent makes it number on from there).
func (a *simAgent) acked(seq uint64, welcome bool) {
	now := time.Now()
	a.mu.Lock()
	i := 0
	for i < len(a.pending) && a.pending[i].seq <= seq {
		i++
	}
	done := a.pending[:i]
	a.pending = append(a.pending[:0:0], a.pending[i:]...)
	if welcome && seq >= a.nextSeq {
		a.nextSeq = seq + 1
		a.s.renumbered.Add(1)
	}
	a.mu.Unlock()
	for _, p := range done {
		a.s.noteAck(a, p, now, welcome)
	}
	select {
	case a.ackSig <- struct{}{}:
	default:
	}
}
