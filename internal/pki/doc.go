// Package pki is the Vigil server's own certificate authority for agent
// mutual TLS, and the agent's half of it.
//
// The server keeps an ECDSA P-256 CA key and a self-signed CA certificate in
// a directory (LoadOrCreateCA), issues itself a TLS certificate at start-up
// (CA.IssueServer) and signs agents' certificate signing requests at
// enrollment and renewal (CA.SignAgent). An agent certificate's identity is
// chosen by the server, never copied from the request: the subject common
// name is the agent ID and the only subject alternative name is the URI
// vigil://agent/<id> (AgentURI), which AgentID reads back. Agent
// certificates are valid for TLS client authentication only; their serial
// numbers are 128 random bits, written as 32 hex digits (Serial) in
// revocation lists.
//
// CA.ServerTLS builds the listener's configuration: a client certificate is
// requested but optional, because enrollment happens on the same listener
// before the agent has one; one that is sent must chain to this CA, be
// current, be for client authentication, name exactly one agent and not be
// revoked, or the handshake fails (on resumed sessions too). PeerAgent tells
// a handler which agent is on the other end.
//
// On the agent, NewAgentKey makes a key and a request, ClientTLS pins the
// Vigil CA as the only root, SaveIdentity and LoadIdentity keep the key and
// certificate in one 0600 file replaced atomically, and NeedsRenewal says
// when to ask for a new certificate.
//
// Certificates, keys and requests from files or the network are untrusted:
// reads are bounded and FuzzDecode and FuzzSignAgent exercise the parsers.
// The package does not log. It is imported by the server and the agent.
package pki
