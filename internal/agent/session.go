package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/pki"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// session runs one stream: Hello, Welcome, then it replays the spool from
// the server's last committed sequence number and sends new messages and
// heartbeats until the stream fails.
func (a *Agent) session(ctx context.Context) error {
	if err := a.maybeRenew(ctx); err != nil {
		a.o.Logger.Warn("certificate renewal failed", "err", err)
		if errors.Is(err, errPermanent) {
			return err
		}
	}
	conn, err := a.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := agentpb.NewAgentClient(conn).Connect(ctx)
	if err != nil {
		return classify(err)
	}
	a.mu.Lock()
	next := a.nextSeq
	a.mu.Unlock()
	if err := stream.Send(&agentpb.AgentMessage{Time: timestamppb.New(a.o.Now()), Body: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{
		Version: a.o.Version, Hostname: a.o.Hostname, NextSeq: next}}}); err != nil {
		return recvError(stream)
	}
	first, err := stream.Recv()
	if err != nil {
		return classify(err)
	}
	w := first.GetWelcome()
	if w == nil {
		return errors.New("agent: the server did not answer Hello with Welcome")
	}
	a.applyConfig(w.GetConfig())
	a.mu.Lock()
	if w.GetLastSeq() >= a.nextSeq {
		// The server committed more than this agent remembers (state lost):
		// number on from there, or new messages would look like replays.
		a.o.Logger.Warn("server is ahead of the spool; renumbering", "server_last_seq", w.GetLastSeq(), "next_seq", a.nextSeq)
		a.nextSeq = w.GetLastSeq() + 1
	}
	replayUpTo := a.nextSeq - 1
	a.mu.Unlock()
	if err := a.spool.Ack(min(w.GetLastSeq(), a.spool.Stats().Last)); err != nil {
		return fmt.Errorf("agent: spool ack: %w", err)
	}
	a.metrics.connected.Set(1)
	defer a.metrics.connected.Set(0)
	a.o.Logger.Info("connected", "server", a.o.Server, "last_seq", w.GetLastSeq(), "pending", replayUpTo-min(replayUpTo, w.GetLastSeq()))

	recvErr := make(chan error, 1)
	go func() { recvErr <- a.receive(stream) }()
	// sendFailed ends the session after a failed Send with the status the
	// receiver saw. The receiver owns Recv (gRPC allows one reader), so
	// this waits for it, bounded: a stream whose send side broke without
	// the receive side ending must not hold the agent for ever.
	sendFailed := func(err error) error {
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case rerr := <-recvErr:
			return rerr // already classified by receive
		case <-t.C:
			return classify(err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	cursor := w.GetLastSeq()
	every := time.Duration(a.cfg().GetHeartbeatSeconds()) * time.Second
	hb := time.NewTicker(every)
	defer hb.Stop()
	for {
		if d := time.Duration(a.cfg().GetHeartbeatSeconds()) * time.Second; d != every {
			every = d // the server pushed a new configuration
			hb.Reset(every)
		}
		// Send everything spooled after cursor.
		for {
			seq, payload, err := a.spool.Next(cursor)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("agent: spool read: %w", err)
			}
			var m agentpb.AgentMessage
			if err := proto.Unmarshal(payload, &m); err != nil {
				// A record the spool verified but that does not decode was
				// written by another version; skip it rather than wedge.
				a.o.Logger.Error("undecodable spooled message skipped", "seq", seq, "err", err)
				cursor = seq
				continue
			}
			if err := stream.Send(&m); err != nil {
				return sendFailed(err)
			}
			if len(payload) >= bigMessage {
				a.bigSent.Store(seq)
			}
			if seq <= replayUpTo {
				a.metrics.replayed.Inc()
			}
			a.metrics.sent.Inc()
			cursor = seq
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			return err
		case <-a.wake:
		case <-hb.C:
			a.renewInBackground(ctx)
			if err := stream.Send(&agentpb.AgentMessage{Time: timestamppb.New(a.o.Now()),
				Body: &agentpb.AgentMessage_Heartbeat{Heartbeat: &agentpb.Heartbeat{Stats: a.stats()}}}); err != nil {
				return sendFailed(err)
			}
		}
	}
}

// bigMessage is the size from which a sent message's memory is returned
// to the operating system once it is acknowledged.
const bigMessage = 1 << 20

// receive handles the server's messages until the stream ends.
func (a *Agent) receive(stream agentpb.Agent_ConnectClient) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			return classify(err)
		}
		switch b := m.GetBody().(type) {
		case *agentpb.ServerMessage_Ack:
			if err := a.spool.Ack(b.Ack.GetSeq()); err != nil {
				return fmt.Errorf("agent: spool ack: %w", err)
			}
			a.metrics.acked.Inc()
			if big := a.bigSent.Load(); big != 0 && b.Ack.GetSeq() >= big && a.bigSent.CompareAndSwap(big, 0) {
				// The server has all of a large message (a full inventory):
				// its copies (read from the spool, decoded, encoded by gRPC)
				// are garbage now. An idle agent allocates too little for
				// the GC to run soon, so return that memory at once. Two
				// collections: buffers gRPC pooled (sync.Pool) survive the
				// first in the pool's victim cache.
				runtime.GC()
				debug.FreeOSMemory()
			}
		case *agentpb.ServerMessage_Config:
			a.applyConfig(b.Config)
			a.o.Logger.Info("configuration from the server", "heartbeat_s", b.Config.GetHeartbeatSeconds(), "inventory_s", b.Config.GetInventorySeconds())
			select {
			case a.wake <- struct{}{}: // let the sender pick up the new heartbeat
			default:
			}
		case *agentpb.ServerMessage_Task:
			a.runTask(b.Task)
		}
	}
}

func (a *Agent) runTask(t *agentpb.Task) {
	var errText string
	switch t.GetKind() {
	case "rescan":
		a.Rescan()
	default:
		errText = fmt.Sprintf("unknown task kind %q", t.GetKind())
	}
	_ = a.enqueue(&agentpb.AgentMessage{Body: &agentpb.AgentMessage_TaskResult{TaskResult: &agentpb.TaskResult{TaskId: t.GetId(), Error: errText}}})
}

// recvError returns the status that ended a stream whose Send failed,
// before any receiver runs (the Hello).
func recvError(stream agentpb.Agent_ConnectClient) error {
	_, err := stream.Recv()
	if err == nil {
		err = errors.New("agent: send failed")
	}
	return classify(err)
}

// classify marks errors retrying cannot fix (a revoked agent).
func classify(err error) error {
	if isDenied(err) {
		return fmt.Errorf("agent: the server refused this agent: %w (%w)", err, errPermanent)
	}
	return err
}

func isDenied(err error) bool {
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unauthenticated:
		return true
	case codes.Unavailable:
		// The server refused the client certificate in the TLS handshake
		// (revoked, expired, or from another CA): retrying cannot help.
		msg := status.Convert(err).Message()
		// The alert comes from the server ("remote error"); with TLS 1.3 it
		// arrives after the client's side of the handshake completed.
		return strings.Contains(msg, "remote error: tls: bad certificate") ||
			strings.Contains(msg, "remote error: tls: certificate revoked") ||
			strings.Contains(msg, "remote error: tls: expired certificate")
	}
	return false
}

// renewInBackground renews the certificate, when due, without holding up
// the stream; the new certificate serves the next connection.
func (a *Agent) renewInBackground(ctx context.Context) {
	if !a.renewing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer a.renewing.Store(false)
		if err := a.maybeRenew(ctx); err != nil {
			a.o.Logger.Warn("certificate renewal failed", "err", err)
		}
	}()
}

// maybeRenew renews the certificate once it is past the configured share
// of its lifetime.
func (a *Agent) maybeRenew(ctx context.Context) error {
	a.mu.Lock()
	certDER := a.certDER
	pct := a.config.GetRenewPercent()
	a.mu.Unlock()
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return err
	}
	if !pki.NeedsRenewal(cert, a.o.Now(), float64(pct)/100) {
		return nil
	}
	return a.Renew(ctx)
}

// Renew asks the server for a fresh certificate and key over the current
// identity, and stores them atomically.
func (a *Agent) Renew(ctx context.Context) error {
	conn, err := a.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	key, csr, err := pki.NewAgentKey()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := agentpb.NewAgentClient(conn).Renew(cctx, &agentpb.RenewRequest{Csr: csr})
	if err != nil {
		return classify(err)
	}
	if err := pki.SaveIdentity(a.identityPath(), key, resp.GetCertificate()); err != nil {
		return err
	}
	a.mu.Lock()
	caPEM := a.caPEM
	a.mu.Unlock()
	if err := a.setIdentity(key, resp.GetCertificate(), caPEM); err != nil {
		return err
	}
	a.metrics.renewals.Inc()
	a.o.Logger.Info("certificate renewed")
	return nil
}

// Stats are the agent's counters, as sent in heartbeats.
func (a *Agent) Stats() *agentpb.Stats { return a.stats() }

func (a *Agent) stats() *agentpb.Stats {
	st := a.spool.Stats()
	return &agentpb.Stats{
		Spooled: st.Spooled, Replayed: a.metrics.replayed.Load(), Dropped: st.Dropped,
		SpoolBytes: uint64(st.Bytes), CpuSeconds: cpuSeconds(), RssBytes: rssBytes(), Acked: st.Acked,
	}
}
