package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// maxCSR bounds the CSR an unauthenticated caller may send.
const maxCSR = 16 << 10

// Enroll exchanges a valid enrollment token and a CSR for a certificate
// naming a new agent. It needs no client certificate.
func (s *Service) Enroll(ctx context.Context, req *agentpb.EnrollRequest) (*agentpb.EnrollResponse, error) {
	deny := func(reason string) error {
		s.o.Metrics.Enrolled.WithLabelValues("denied").Inc()
		s.o.Logger.Warn("enrollment denied", "reason", reason, "remote", remote(ctx))
		return status.Error(codes.PermissionDenied, "enrollment token not valid")
	}
	if kind, err := auth.ParseToken(req.GetToken()); err != nil || kind != auth.KindEnroll {
		return nil, deny("malformed token")
	}
	if len(req.GetCsr()) == 0 || len(req.GetCsr()) > maxCSR {
		s.o.Metrics.Enrolled.WithLabelValues("denied").Inc()
		return nil, status.Error(codes.InvalidArgument, "a DER CSR of at most 16 KiB is required")
	}
	hostname := clip(req.GetHostname(), 253)
	now := s.o.Now()
	tok, err := s.o.Store.UseEnrollToken(ctx, auth.Hash(req.GetToken()), now)
	if errors.Is(err, store.ErrEnrollToken) {
		return nil, deny("unknown, expired, revoked or used-up token")
	}
	if err != nil {
		return nil, s.internal("enroll: token", err)
	}
	id, err := newAgentID()
	if err != nil {
		return nil, s.internal("enroll: id", err)
	}
	certDER, serial, notAfter, err := s.o.Signer.SignAgent(req.GetCsr(), id, s.o.CertTTL)
	if err != nil {
		s.o.Metrics.Enrolled.WithLabelValues("denied").Inc()
		return nil, status.Errorf(codes.InvalidArgument, "CSR: %v", err)
	}
	a := store.Agent{
		ID: id, Hostname: hostname, Version: clip(req.GetVersion(), 64), Labels: tok.Labels,
		AssetID: AssetID(id, store.AssetHost, "host"), EnrolledAt: now, LastSeen: now,
		Heartbeat:  s.heartbeat(),
		CertSerial: serial, CertNotAfter: notAfter,
	}
	if _, err := s.o.Store.CreateAgent(ctx, a); err != nil {
		return nil, s.internal("enroll: create agent", err)
	}
	detail, _ := json.Marshal(map[string]any{"hostname": hostname, "enrollmentToken": tok.ID, "serial": serial})
	if err := s.o.Store.Audit(ctx, store.AuditEntry{Time: now, Actor: "agent:" + id, Action: "agent.enroll",
		Target: "agent:" + id, Detail: detail, Remote: remote(ctx)}); err != nil {
		s.o.Logger.Error("audit", "err", err)
	}
	s.o.Metrics.Enrolled.WithLabelValues("ok").Inc()
	s.o.Logger.Info("agent enrolled", "agent", id, "hostname", hostname, "token", tok.Name)
	return &agentpb.EnrollResponse{AgentId: id, Certificate: certDER, CaCertificate: s.o.Signer.CertPEM(), Config: s.o.Config}, nil
}

// Renew issues a fresh certificate to the calling agent.
func (s *Service) Renew(ctx context.Context, req *agentpb.RenewRequest) (*agentpb.RenewResponse, error) {
	a, _, err := s.identify(ctx)
	if err != nil {
		return nil, err
	}
	if len(req.GetCsr()) == 0 || len(req.GetCsr()) > maxCSR {
		return nil, status.Error(codes.InvalidArgument, "a DER CSR of at most 16 KiB is required")
	}
	certDER, serial, notAfter, err := s.o.Signer.SignAgent(req.GetCsr(), a.ID, s.o.CertTTL)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "CSR: %v", err)
	}
	if err := s.o.Store.SetAgentCert(ctx, a.ID, serial, notAfter); err != nil {
		return nil, s.internal("renew", err)
	}
	detail, _ := json.Marshal(map[string]any{"serial": serial, "previous": a.CertSerial})
	if err := s.o.Store.Audit(ctx, store.AuditEntry{Time: s.o.Now(), Actor: "agent:" + a.ID, Action: "agent.renew",
		Target: "agent:" + a.ID, Detail: detail, Remote: remote(ctx)}); err != nil {
		s.o.Logger.Error("audit", "err", err)
	}
	return &agentpb.RenewResponse{Certificate: certDER}, nil
}

func (s *Service) heartbeat() time.Duration {
	return time.Duration(s.o.Config.GetHeartbeatSeconds()) * time.Second
}

func (s *Service) internal(what string, err error) error {
	s.o.Logger.Error(what, "err", err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Unavailable, "server could not complete the request")
}

func newAgentID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "agent-" + hex.EncodeToString(b[:]), nil
}

func remote(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// clip bounds a client-supplied string.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
