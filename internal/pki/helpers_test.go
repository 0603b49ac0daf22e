package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// newTestCA creates a CA in a fresh temporary directory.
func newTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// agent is an enrolled test agent: its key and certificate.
type agent struct {
	key     crypto.Signer
	certDER []byte
	serial  string
}

// enroll makes an agent key, has ca sign it for id and returns the agent.
func enroll(t testing.TB, ca *CA, id string, ttl time.Duration) agent {
	t.Helper()
	key, csr, err := NewAgentKey()
	if err != nil {
		t.Fatal(err)
	}
	der, serial, _, err := ca.SignAgent(csr, id, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return agent{key: key, certDER: der, serial: serial}
}

// clientConfig is the agent's TLS configuration pinning ca (cert may be
// the zero agent: no client certificate).
func clientConfig(t testing.TB, ca *CA, a agent) *tls.Config {
	t.Helper()
	var key crypto.Signer
	if a.certDER != nil {
		key = a.key
	}
	cfg, err := ClientTLS(ca.CertPEM(), a.certDER, key)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serverResult is what the test server learned of one connection.
type serverResult struct {
	handshakeErr error  // the server's handshake error
	agentID      string // PeerAgent
	peerErr      error  // PeerAgent's error
	resumed      bool
}

// serve starts a TLS server on a loopback port with cfg. For every
// connection it completes the handshake, reports what it learned and, when
// the handshake succeeded, writes "ok\n".
func serve(t *testing.T, cfg *tls.Config) (addr string, results <-chan serverResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan serverResult, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(conn, cfg)
				var r serverResult
				if r.handshakeErr = tc.Handshake(); r.handshakeErr == nil {
					cs := tc.ConnectionState()
					r.resumed = cs.DidResume
					r.agentID, r.peerErr = PeerAgent(&cs)
					io.WriteString(tc, "ok\n")
				}
				ch <- r
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// dial connects to addr with cfg and reads the server's greeting. In TLS
// 1.3 the client finishes its handshake before the server has checked the
// client certificate, so a rejection shows up on the read.
func dial(addr string, cfg *tls.Config) error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "ok\n" {
		return errors.New("unexpected greeting " + string(buf))
	}
	return nil
}

// result waits for the server's report of one connection.
func result(t *testing.T, ch <-chan serverResult) serverResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("server reported nothing")
		return serverResult{}
	}
}

// signRaw signs tmpl with the CA's key directly, bypassing SignAgent's
// rules, to build certificates SignAgent would never issue.
func signRaw(t *testing.T, ca *CA, tmpl *x509.Certificate, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
