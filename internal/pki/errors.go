package pki

import "errors"

var (
	// ErrCorruptCA reports CA files that cannot be read back: not PEM, not
	// a key or certificate, or a key and certificate that do not match.
	ErrCorruptCA = errors.New("corrupt CA files")

	// ErrCAExpired reports a CA certificate past its NotAfter.
	ErrCAExpired = errors.New("CA certificate expired")

	// ErrBadPEM reports data without the expected PEM block, or a block that
	// does not parse.
	ErrBadPEM = errors.New("invalid PEM data")

	// ErrBadCSR reports a certificate signing request that does not parse,
	// whose signature does not verify, or whose key is not acceptable.
	ErrBadCSR = errors.New("invalid certificate signing request")

	// ErrBadAgentID reports an agent ID outside the allowed syntax
	// (ValidateAgentID).
	ErrBadAgentID = errors.New("invalid agent ID")

	// ErrNotAgent reports a certificate that does not carry exactly one
	// well-formed vigil://agent/<id> URI.
	ErrNotAgent = errors.New("not an agent certificate")

	// ErrRevoked reports an agent certificate whose serial is revoked.
	ErrRevoked = errors.New("certificate revoked")

	// ErrNoClientCert reports a connection on which the peer presented no
	// verified client certificate (an agent that has not enrolled yet).
	ErrNoClientCert = errors.New("no client certificate")
)
