package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	serverCert, err := ca.IssueServer([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	valid := enroll(t, ca, "agent-1", time.Hour)
	revokedAgent := enroll(t, ca, "agent-2", time.Hour)
	foreign := enroll(t, other, "agent-1", time.Hour)
	ca.now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	expired := enroll(t, ca, "agent-3", time.Hour)
	ca.now = time.Now

	// A certificate of this CA without the agent URI, and the server's own
	// certificate (server authentication only) offered as a client one.
	noURIKey, _, err := NewAgentKey()
	if err != nil {
		t.Fatal(err)
	}
	noURI := agent{key: noURIKey, certDER: signRaw(t, ca, &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "agent-4"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, noURIKey.Public())}
	serverAsClient := agent{key: serverCert.PrivateKey.(crypto.Signer), certDER: serverCert.Certificate[0]}

	revoked := func(serial string) bool { return serial == revokedAgent.serial }
	addr, results := serve(t, ca.ServerTLS(serverCert, revoked))

	tests := []struct {
		name    string
		agent   agent
		wantID  string
		wantErr error // errors.Is target for the server's handshake error
		reject  bool  // the server must fail the handshake
		force   bool  // send the certificate even if the server names other CAs
		x509Err func(error) bool
	}{
		{name: "valid agent", agent: valid, wantID: "agent-1"},
		{name: "enrollment without certificate", agent: agent{}},
		{name: "other CA", agent: foreign, reject: true, force: true, x509Err: isUnknownAuthority},
		{name: "revoked", agent: revokedAgent, reject: true, wantErr: ErrRevoked},
		{name: "expired", agent: expired, reject: true, x509Err: isInvalid(x509.Expired)},
		{name: "no agent URI", agent: noURI, reject: true, wantErr: ErrNotAgent},
		{name: "server certificate as client", agent: serverAsClient, reject: true, x509Err: isInvalid(x509.IncompatibleUsage)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t, ca, tt.agent)
			if tt.force {
				// crypto/tls sends no certificate the server's list of
				// acceptable CAs excludes; a hostile client would.
				c := cfg.Certificates[0]
				cfg.Certificates = nil
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
			}
			clientErr := dial(addr, cfg)
			r := result(t, results)
			if tt.reject {
				if r.handshakeErr == nil {
					t.Fatalf("server accepted the connection (agent %q)", r.agentID)
				}
				if tt.wantErr != nil && !errors.Is(r.handshakeErr, tt.wantErr) {
					t.Errorf("server error = %v, want %v", r.handshakeErr, tt.wantErr)
				}
				if tt.x509Err != nil && !tt.x509Err(r.handshakeErr) {
					t.Errorf("server error = %v, not the expected verification failure", r.handshakeErr)
				}
				if clientErr == nil {
					t.Error("client saw no error")
				}
				t.Logf("rejected: %v", r.handshakeErr)
				return
			}
			if r.handshakeErr != nil || clientErr != nil {
				t.Fatalf("server error %v, client error %v", r.handshakeErr, clientErr)
			}
			if tt.wantID == "" {
				if !errors.Is(r.peerErr, ErrNoClientCert) {
					t.Errorf("PeerAgent = %q, %v; want ErrNoClientCert", r.agentID, r.peerErr)
				}
				return
			}
			if r.peerErr != nil || r.agentID != tt.wantID {
				t.Errorf("PeerAgent = %q, %v; want %q", r.agentID, r.peerErr, tt.wantID)
			}
		})
	}
}

func isUnknownAuthority(err error) bool {
	var e x509.UnknownAuthorityError
	return errors.As(err, &e)
}

func isInvalid(reason x509.InvalidReason) func(error) bool {
	return func(err error) bool {
		var e x509.CertificateInvalidError
		return errors.As(err, &e) && e.Reason == reason
	}
}

// TestClientPinsCA checks that the agent refuses a server whose certificate
// comes from another CA, even one that system roots or another Vigil
// installation would trust.
func TestClientPinsCA(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	otherServer, err := other.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	addr, results := serve(t, other.ServerTLS(otherServer, nil))
	err = dial(addr, clientConfig(t, ca, enroll(t, ca, "agent-1", time.Hour)))
	if !isUnknownAuthority(err) {
		t.Errorf("client error = %v, want x509.UnknownAuthorityError", err)
	}
	if r := result(t, results); r.handshakeErr == nil {
		t.Error("server handshake succeeded")
	}
}

// TestRevokedOnResumption checks that revoking a serial also stops an agent
// that resumes an earlier TLS session (no certificate is sent then).
func TestRevokedOnResumption(t *testing.T) {
	ca := newTestCA(t)
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := enroll(t, ca, "agent-1", time.Hour)
	var isRevoked atomic.Bool
	revoked := func(serial string) bool { return isRevoked.Load() && serial == a.serial }
	addr, results := serve(t, ca.ServerTLS(serverCert, revoked))
	cfg := clientConfig(t, ca, a)
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)

	for i, want := range []struct{ resumed, reject bool }{{false, false}, {true, false}, {true, true}} {
		isRevoked.Store(want.reject)
		clientErr := dial(addr, cfg)
		r := result(t, results)
		if want.reject {
			if !errors.Is(r.handshakeErr, ErrRevoked) || clientErr == nil {
				t.Errorf("connection %d: server error %v, client error %v; want ErrRevoked", i, r.handshakeErr, clientErr)
			}
			continue
		}
		if r.handshakeErr != nil || clientErr != nil || r.agentID != "agent-1" {
			t.Fatalf("connection %d: server error %v, client error %v, agent %q", i, r.handshakeErr, clientErr, r.agentID)
		}
		if r.resumed != want.resumed {
			t.Fatalf("connection %d: resumed = %v, want %v", i, r.resumed, want.resumed)
		}
	}
}

func TestVerifyAgent(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	valid := enroll(t, ca, "agent-1", time.Hour)
	revokedAgent := enroll(t, ca, "agent-2", time.Hour)
	foreign := enroll(t, other, "agent-1", time.Hour)
	ca.now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	expired := enroll(t, ca, "agent-3", time.Hour)
	ca.now = time.Now
	revoked := func(s string) bool { return s == revokedAgent.serial }

	tests := []struct {
		name    string
		raw     [][]byte
		want    string
		wantErr error
	}{
		{name: "valid", raw: [][]byte{valid.certDER}, want: "agent-1"},
		{name: "none", wantErr: ErrNoClientCert},
		{name: "other CA", raw: [][]byte{foreign.certDER}},
		{name: "revoked", raw: [][]byte{revokedAgent.certDER}, wantErr: ErrRevoked},
		{name: "expired", raw: [][]byte{expired.certDER}},
		{name: "garbage", raw: [][]byte{[]byte("not a certificate")}},
		{name: "too long a chain", raw: [][]byte{valid.certDER, valid.certDER, valid.certDER, valid.certDER, valid.certDER}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ca.VerifyAgent(tt.raw, revoked)
			if tt.want != "" {
				if err != nil || id != tt.want {
					t.Fatalf("VerifyAgent = %q, %v; want %q", id, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyAgent = %q, want an error", id)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyAgent error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestClientTLSErrors(t *testing.T) {
	ca := newTestCA(t)
	a := enroll(t, ca, "agent-1", time.Hour)
	b := enroll(t, ca, "agent-2", time.Hour)
	agentPEM := EncodeCertPEM(a.certDER)
	tests := []struct {
		name    string
		caPEM   []byte
		certDER []byte
		key     crypto.Signer
	}{
		{name: "no CA", caPEM: nil},
		{name: "agent certificate as CA", caPEM: agentPEM},
		{name: "key of another agent", caPEM: ca.CertPEM(), certDER: a.certDER, key: b.key},
		{name: "certificate without key", caPEM: ca.CertPEM(), certDER: a.certDER},
		{name: "key without certificate", caPEM: ca.CertPEM(), key: a.key},
		{name: "garbage certificate", caPEM: ca.CertPEM(), certDER: []byte{1, 2, 3}, key: a.key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ClientTLS(tt.caPEM, tt.certDER, tt.key); err == nil {
				t.Error("ClientTLS succeeded")
			}
		})
	}
	cfg, err := ClientTLS(ca.CertPEM(), a.certDER, a.key)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.InsecureSkipVerify {
		t.Errorf("ClientTLS config: min version %x, roots %v, %d certificates", cfg.MinVersion, cfg.RootCAs != nil, len(cfg.Certificates))
	}
}
